#pragma once
// A small Prometheus registry: counters and gauges with labels, rendered in the text exposition
// format. Thread-safe. Values that are cheaper to read than to track (store bytes, breaker
// states) are filled by collectors at scrape time.
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/mutex.hpp"

namespace outpost {

using Labels = std::vector<std::pair<std::string, std::string>>;

class MetricFamily {
 public:
  enum class Type { counter, gauge };
  MetricFamily(std::string name, std::string help, Type type)
      : name_(std::move(name)), help_(std::move(help)), type_(type) {}

  void add(const Labels& labels, double v = 1);
  void set(const Labels& labels, double v);
  double value(const Labels& labels) const;  // 0 when never set
  void render(std::string& out) const;

 private:
  static std::string key(const Labels& labels);
  std::string name_, help_;
  Type type_;
  mutable Mutex mu_;
  std::map<std::string, double> values_ GUARDED_BY(mu_);  // key is the rendered label set
};

// One metric as its module's catalogue (<module>/metric_defs.hpp) declares it: once, with its
// help. Families are created only from these, so a name has one help and one type everywhere.
struct MetricDef {
  enum Kind { counter, gauge };
  const char* name;
  Kind kind;
  const char* help;
};

class Metrics {
 public:
  // Returns the family, creating it on first use. References stay valid for the registry's life.
  // REQUIRES: `def` is of that kind.
  MetricFamily& counter(const MetricDef& def);
  MetricFamily& gauge(const MetricDef& def);
  // Runs before each render, e.g. to set gauges from live state.
  void add_collector(std::function<void()> fn);
  std::string render();

 private:
  MetricFamily& family(const std::string& name, const std::string& help, MetricFamily::Type t);
  Mutex mu_;
  std::map<std::string, std::unique_ptr<MetricFamily>> families_ GUARDED_BY(mu_);
  std::vector<std::function<void()>> collectors_ GUARDED_BY(mu_);
};

}  // namespace outpost
