#include "core/metrics.hpp"

#include <fmt/format.h>

namespace outpost {

std::string MetricFamily::key(const Labels& labels) {
  if (labels.empty()) return {};
  std::string k = "{";
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (i) k += ',';
    k += labels[i].first;
    k += "=\"";
    for (char c : labels[i].second) {
      if (c == '"' || c == '\\') k += '\\';
      if (c == '\n') {
        k += "\\n";
        continue;
      }
      k += c;
    }
    k += '"';
  }
  k += '}';
  return k;
}

void MetricFamily::add(const Labels& labels, double v) {
  auto k = key(labels);
  MutexLock lock(mu_);
  values_[k] += v;
}

void MetricFamily::set(const Labels& labels, double v) {
  auto k = key(labels);
  MutexLock lock(mu_);
  values_[k] = v;
}

double MetricFamily::value(const Labels& labels) const {
  auto k = key(labels);
  MutexLock lock(mu_);
  auto it = values_.find(k);
  return it == values_.end() ? 0 : it->second;
}

void MetricFamily::render(std::string& out) const {
  MutexLock lock(mu_);
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name_, help_, name_,
                     type_ == Type::counter ? "counter" : "gauge");
  if (values_.empty() && type_ == Type::counter) out += fmt::format("{} 0\n", name_);
  for (const auto& [labels, v] : values_) out += fmt::format("{}{} {}\n", name_, labels, v);
}

MetricFamily& Metrics::family(const std::string& name, const std::string& help,
                              MetricFamily::Type t) {
  MutexLock lock(mu_);
  auto& slot = families_[name];
  if (!slot) slot = std::make_unique<MetricFamily>(name, help, t);
  return *slot;
}

MetricFamily& Metrics::counter(const MetricDef& def) {
  if (def.kind != MetricDef::counter) throw std::logic_error(std::string(def.name) + " is a gauge");
  return family(def.name, def.help, MetricFamily::Type::counter);
}

MetricFamily& Metrics::gauge(const MetricDef& def) {
  if (def.kind != MetricDef::gauge) throw std::logic_error(std::string(def.name) + " is a counter");
  return family(def.name, def.help, MetricFamily::Type::gauge);
}

void Metrics::add_collector(std::function<void()> fn) {
  MutexLock lock(mu_);
  collectors_.push_back(std::move(fn));
}

std::string Metrics::render() {
  std::vector<std::function<void()>> collectors;
  {
    MutexLock lock(mu_);
    collectors = collectors_;
  }
  for (auto& c : collectors) c();
  std::string out;
  MutexLock lock(mu_);
  for (const auto& [name, fam] : families_) fam->render(out);
  return out;
}

}  // namespace outpost
