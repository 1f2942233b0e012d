#include "core/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace utmpcd {
namespace {

// A sample value: integers as integers ("3", not "3.0"), others as the shortest text that
// reads back as the same double; the text format's infinities and NaN.
void AppendValue(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "NaN";
  } else if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
  } else if (value == std::trunc(value) && std::fabs(value) < 1e15) {
    fmt::format_to(std::back_inserter(out), "{}", static_cast<int64_t>(value));
  } else {
    fmt::format_to(std::back_inserter(out), "{}", value);
  }
}

// A label value: backslash, double quote and newline escaped, as the format asks.
void AppendLabelValue(std::string& out, std::string_view value) {
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

// {a="x",b="y"}, with `extra` (a histogram's le) last; nothing for no labels at all.
void AppendLabels(std::string& out, const std::vector<std::string>& names,
                  const std::vector<std::string>& values, std::string_view extra_name = {},
                  std::string_view extra_value = {}) {
  if (names.empty() && extra_name.empty()) return;
  out += '{';
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ',';
    out += names[i];
    out += "=\"";
    AppendLabelValue(out, values[i]);
    out += '"';
  }
  if (!extra_name.empty()) {
    if (!names.empty()) out += ',';
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
}

// The help text on one line: backslash and newline escaped.
void AppendHelp(std::string& out, std::string_view help) {
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

}  // namespace

MetricFamily::MetricFamily(std::string name, std::string help, MetricType type,
                           std::vector<std::string> label_names, std::vector<double> buckets)
    : name_(std::move(name)), help_(std::move(help)), type_(type),
      label_names_(std::move(label_names)), buckets_(std::move(buckets)) {
  std::sort(buckets_.begin(), buckets_.end());
}

MetricFamily::Sample& MetricFamily::At(std::initializer_list<std::string_view> labels) {
  std::vector<std::string> key(labels.begin(), labels.end());
  key.resize(label_names_.size());  // a caller's mistake shows as empty labels, not a crash
  auto [it, added] = samples_.try_emplace(std::move(key));
  if (added && type_ == MetricType::kHistogram) it->second.in_bucket.assign(buckets_.size(), 0);
  return it->second;
}

void MetricFamily::Add(std::initializer_list<std::string_view> labels, double value) {
  std::lock_guard lock(mutex_);
  At(labels).value += value;
}

void MetricFamily::Set(std::initializer_list<std::string_view> labels, double value) {
  std::lock_guard lock(mutex_);
  At(labels).value = value;
}

void MetricFamily::Observe(std::initializer_list<std::string_view> labels, double value) {
  std::lock_guard lock(mutex_);
  Sample& s = At(labels);
  // The first bound at or above the value; none: only +Inf's (the count) has it.
  auto bound = std::lower_bound(buckets_.begin(), buckets_.end(), value);
  if (bound != buckets_.end()) ++s.in_bucket[static_cast<size_t>(bound - buckets_.begin())];
  s.sum += value;
  ++s.count;
}

void MetricFamily::Clear() {
  std::lock_guard lock(mutex_);
  samples_.clear();
}

void MetricFamily::Render(std::string& out) const {
  static constexpr const char* kTypeNames[] = {"counter", "gauge", "histogram"};
  out += "# HELP ";
  out += name_;
  out += ' ';
  AppendHelp(out, help_);
  out += "\n# TYPE ";
  out += name_;
  out += ' ';
  out += kTypeNames[static_cast<int>(type_)];
  out += '\n';
  std::lock_guard lock(mutex_);
  for (const auto& [labels, s] : samples_) {
    if (type_ != MetricType::kHistogram) {
      out += name_;
      AppendLabels(out, label_names_, labels);
      out += ' ';
      AppendValue(out, s.value);
      out += '\n';
      continue;
    }
    uint64_t cumulative = 0;
    for (size_t i = 0; i < buckets_.size(); ++i) {
      cumulative += s.in_bucket[i];
      std::string le;
      AppendValue(le, buckets_[i]);
      out += name_;
      out += "_bucket";
      AppendLabels(out, label_names_, labels, "le", le);
      fmt::format_to(std::back_inserter(out), " {}\n", cumulative);
    }
    out += name_;
    out += "_bucket";
    AppendLabels(out, label_names_, labels, "le", "+Inf");
    fmt::format_to(std::back_inserter(out), " {}\n", s.count);
    out += name_;
    out += "_sum";
    AppendLabels(out, label_names_, labels);
    out += ' ';
    AppendValue(out, s.sum);
    out += '\n';
    out += name_;
    out += "_count";
    AppendLabels(out, label_names_, labels);
    fmt::format_to(std::back_inserter(out), " {}\n", s.count);
  }
}

MetricFamily& MetricsRegistry::Add(std::string name, std::string help, MetricType type,
                                   std::vector<std::string> label_names,
                                   std::vector<double> buckets) {
  std::lock_guard lock(mutex_);
  // Asked again for a name it holds (a server opened anew on the same registry): the same
  // family, so that the text never names one twice, which Prometheus refuses whole.
  for (const auto& family : families_) {
    if (family->name_ == name) return *family;
  }
  families_.push_back(std::unique_ptr<MetricFamily>(new MetricFamily(
      std::move(name), std::move(help), type, std::move(label_names), std::move(buckets))));
  return *families_.back();
}

std::string MetricsRegistry::Render() const {
  std::string out;
  std::lock_guard lock(mutex_);
  for (const auto& family : families_) family->Render(out);
  return out;
}

std::vector<double> LatencyBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
          2.5, 5, 10};
}

}  // namespace utmpcd
