# Writes a C++ source holding files' bytes, so a program serves them with nothing installed
# beside it (the dashboard, web/).
# cmake -DOUT=web_files.cc -DDIR=web -DFILES=index.html,app.js -P cmake/embed_files.cmake
# OUT defines utmpcd::WebFiles() (api/web_files_internal.h): each file as ("/NAME", bytes).
set(text "// Generated from ${DIR} by cmake/embed_files.cmake: do not edit.\n")
string(APPEND text "#include \"api/web_files_internal.h\"\n\nnamespace utmpcd {\nnamespace {\n\n")
set(table "")
set(i 0)
string(REPLACE "," ";" FILES "${FILES}")
foreach(name IN LISTS FILES)
  file(READ "${DIR}/${name}" hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  # About 100 bytes a line.
  string(REGEX REPLACE "((0x..,){100})" "\\1\n" bytes "${bytes}")
  string(APPEND text "const unsigned char kFile${i}[] = {\n${bytes}\n};\n\n")
  string(APPEND table "      WebFile{\"/${name}\", {reinterpret_cast<const char*>(kFile${i}), sizeof kFile${i}}},\n")
  math(EXPR i "${i} + 1")
endforeach()
string(APPEND text "}  // namespace\n\nstd::span<const WebFile> WebFiles() {\n")
string(APPEND text "  static const WebFile kFiles[] = {\n${table}  };\n  return kFiles;\n}\n\n}  // namespace utmpcd\n")
file(WRITE "${OUT}.tmp" "${text}")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")
