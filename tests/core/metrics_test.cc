#include "core/metrics.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace utmpcd {
namespace {

TEST(MetricsTest, RendersCountersAndGaugesInTheTextFormat) {
  MetricsRegistry r;
  MetricFamily& stored = r.Add("x_events_total", "Events stored,\nby kind.", MetricType::kCounter,
                               {"kind"});
  MetricFamily& open = r.Add("x_open", "Open now.", MetricType::kGauge);
  stored.Add({"login"});
  stored.Add({"login"}, 2);
  stored.Add({"boot"});
  open.Set({}, 0.5);
  EXPECT_EQ(r.Render(),
            "# HELP x_events_total Events stored,\\nby kind.\n"
            "# TYPE x_events_total counter\n"
            "x_events_total{kind=\"boot\"} 1\n"
            "x_events_total{kind=\"login\"} 3\n"
            "# HELP x_open Open now.\n"
            "# TYPE x_open gauge\n"
            "x_open 0.5\n");
  open.Clear();
  EXPECT_EQ(r.Render().find("x_open 0.5"), std::string::npos);
}

TEST(MetricsTest, LabelValuesAreEscaped) {
  MetricsRegistry r;
  r.Add("x", "h", MetricType::kGauge, {"host"}).Set({"a\"b\\c\nd"}, 1);
  EXPECT_NE(r.Render().find("x{host=\"a\\\"b\\\\c\\nd\"} 1\n"), std::string::npos) << r.Render();
}

TEST(MetricsTest, HistogramBucketsAreCumulative) {
  MetricsRegistry r;
  MetricFamily& h = r.Add("x_seconds", "h", MetricType::kHistogram, {}, {0.1, 1});
  h.Observe({}, 0.05);
  h.Observe({}, 0.1);  // a bound holds the values equal to it
  h.Observe({}, 0.5);
  h.Observe({}, 7);
  EXPECT_EQ(r.Render(),
            "# HELP x_seconds h\n# TYPE x_seconds histogram\n"
            "x_seconds_bucket{le=\"0.1\"} 2\n"
            "x_seconds_bucket{le=\"1\"} 3\n"
            "x_seconds_bucket{le=\"+Inf\"} 4\n"
            "x_seconds_sum 7.65\n"
            "x_seconds_count 4\n");
}

TEST(MetricsTest, CountsFromManyThreadsAreNotLost) {
  MetricsRegistry r;
  MetricFamily& c = r.Add("x_total", "h", MetricType::kCounter, {"t"});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&c] {
      for (int i = 0; i < 10000; ++i) c.Add({"same"});
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_NE(r.Render().find("x_total{t=\"same\"} 40000\n"), std::string::npos);
}

}  // namespace
}  // namespace utmpcd
