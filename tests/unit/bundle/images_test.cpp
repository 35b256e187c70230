#include "bundle/images.hpp"

#include <gtest/gtest.h>

namespace outpost::bundle {

std::vector<std::string> refs(const ImageCollector& c) {
  std::vector<std::string> out;
  for (const auto& u : c.images()) out.push_back(u.ref.str());
  return out;
}

TEST(Images, FindsEveryContainerListOfEveryWorkloadKind) {
  ImageCollector c;
  ASSERT_TRUE(c.add_yaml(R"(
kind: Pod
spec: {containers: [{name: a, image: a}], initContainers: [{name: b, image: b}],
       ephemeralContainers: [{name: c, image: c}]}
---
kind: Deployment
spec: {template: {spec: {containers: [{name: d, image: d}]}}}
---
kind: StatefulSet
spec: {template: {spec: {containers: [{name: e, image: e}]}}}
---
kind: DaemonSet
spec: {template: {spec: {containers: [{name: f, image: f}]}}}
---
kind: ReplicaSet
spec: {template: {spec: {containers: [{name: g, image: g}]}}}
---
kind: Job
spec: {template: {spec: {containers: [{name: h, image: h}]}}}
---
kind: CronJob
spec: {jobTemplate: {spec: {template: {spec: {containers: [{name: i, image: i}]}}}}}
---
kind: ConfigMap
data: {containers: "image: not-me"}
)",
                         "t.yaml"));
  std::vector<std::string> want;
  for (char ch = 'a'; ch <= 'i'; ++ch)
    want.push_back(std::string("docker.io/library/") + ch + ":latest");
  EXPECT_EQ(refs(c), want);
}

TEST(Images, DeduplicatesAndRemembersFirstUse) {
  ImageCollector c;
  ASSERT_TRUE(
      c.add_yaml("kind: Pod\nspec:\n  containers:\n    - {name: a, image: nginx}\n", "one.yaml"));
  ASSERT_TRUE(c.add_yaml(
      "kind: Pod\nspec:\n  containers:\n    - {name: a, image: docker.io/library/nginx:latest}\n",
      "two.yaml"));
  ASSERT_EQ(c.images().size(), 1u);
  EXPECT_EQ(c.images()[0].where, "one.yaml:4");
}

TEST(Images, UnparsableYamlNamesFileAndLine) {
  ImageCollector c;
  auto r = c.add_yaml("kind: Pod\nspec: [\n", "broken.yaml");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("broken.yaml:"), std::string::npos) << r.error().message;
}

TEST(Images, InvalidImageNamesFileAndLine) {
  ImageCollector c;
  auto r =
      c.add_yaml("kind: Pod\nspec:\n  containers:\n    - {name: a, image: 'BAD//x'}\n", "p.yaml");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("p.yaml:4"), std::string::npos) << r.error().message;
}

}  // namespace outpost::bundle
