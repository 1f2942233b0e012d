#!/usr/bin/env bash
# The dependency direction of DESIGN.md ("Layout and dependency direction"), checked on every
# #include of src/ and pam/:
#   - a folder includes only its own headers and those of folders below it:
#     core -> formats -> sources, store -> api -> net -> programs (utmpcd, utmpsd, utmpc, pam);
#     sources and store do not include each other, and
#     no program includes another program's folder;
#   - only src/net includes Boost.Asio, Boost.Beast or OpenSSL.
# Any violation fails.
# Environment: UTMPCD_SOURCE_DIR. Exit status: 0 pass, 1 fail.
set -euo pipefail
src=${UTMPCD_SOURCE_DIR:?}

rank() {
  case $1 in
    core) echo 0 ;;
    formats) echo 1 ;;
    sources | store) echo 2 ;;
    api) echo 3 ;;
    net) echo 4 ;;
    utmpcd | utmpsd | utmpc | pam) echo 5 ;;
    *) echo -1 ;;
  esac
}

found=$(mktemp)
trap 'rm -f "$found"' EXIT
cd "$src"
while IFS= read -r file; do
  folder=${file#src/}
  folder=${folder%%/*}
  [[ $file == pam/* ]] && folder=pam
  from=$(rank "$folder")
  if ((from < 0)); then
    echo "$file: src/$folder is no layer of DESIGN.md" >>"$found"
    continue
  fi
  while IFS= read -r include; do
    case $include in
      \<boost/asio* | \<boost/beast* | \<openssl/*)
        [[ $folder == net ]] || echo "$file: $include (only src/net may)" >>"$found"
        continue
        ;;
      \<*) continue ;;
    esac
    target=${include#\"}
    target=${target%%/*}
    [[ $target == "$folder" ]] && continue
    to=$(rank "$target")
    if ((to < 0)); then
      [[ $include == \"*/* ]] && echo "$file: $include (no layer)" >>"$found"
      continue
    fi
    if ((to >= from)); then
      echo "$file: $include (a layer may not include its own level or above)" >>"$found"
    fi
  done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*\([<"][^>"]*[>"]\).*/\1/p' "$file")
done < <(find src pam -name '*.h' -o -name '*.cc' -o -name '*.h.in' | sort)
# A file of another folder compiled in by path (pam/ building a source of src/sources).
while IFS= read -r line; do
  echo "$line" >>"$found"
done < <(grep -Hn '\${PROJECT_SOURCE_DIR}/src/' pam/CMakeLists.txt src/*/CMakeLists.txt 2>/dev/null |
  sed 's/:[0-9]*:.*\(src\/[a-z_]*\/[a-z_]*\.cc\).*/: compiles \1 by path/')

sort -u -o "$found" "$found"
if [[ -s $found ]]; then
  echo "FAIL: includes against DESIGN.md's dependency direction:" >&2
  cat "$found" >&2
  exit 1
fi
echo "$(find src pam -name '*.h' -o -name '*.cc' -o -name '*.h.in' | wc -l) files follow the layering"
