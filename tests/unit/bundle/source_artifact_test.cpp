#include "bundle/source_artifact.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "../fakes/tgz.hpp"

namespace outpost::bundle {
namespace {

std::string artifact(std::string_view config_type, std::string_view layer_type,
                     const std::string& content) {
  nlohmann::json m = {
      {"schemaVersion", 2},
      {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
      {"config", {{"mediaType", config_type}, {"digest", sha256_of("{}").str()}, {"size", 2}}},
      {"layers",
       {{{"mediaType", layer_type},
         {"digest", sha256_of(content).str()},
         {"size", content.size()}}}}};
  return m.dump();
}

std::vector<std::string> refs(const Result<std::vector<ImageUse>>& uses) {
  std::vector<std::string> out;
  if (uses)
    for (const auto& u : *uses) out.push_back(u.ref.str());
  return out;
}

constexpr auto kDeployment = R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: shop}
spec:
  template:
    spec:
      containers:
        - name: web
          image: ghcr.io/acme/shop:1.5.0
        - name: side
          image: nginx:1.25
)";

TEST(SourceArtifact, ReadsTheImagesOfAnArgoCdManifestsArtifact) {
  auto content = testing::tgz({{"app/deploy.yaml", kDeployment}, {"README.md", "# not YAML"}});
  auto a = read_source_artifact(
      artifact("application/vnd.oci.empty.v1+json", kOciLayerTarGzip, content));
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->kind, SourceArtifact::Kind::manifests);
  EXPECT_EQ(a->content, sha256_of(content));
  EXPECT_EQ(a->blobs.size(), 2u);
  EXPECT_EQ(refs(source_images(*a, content)),
            (std::vector<std::string>{"docker.io/library/nginx:1.25", "ghcr.io/acme/shop:1.5.0"}));
}

TEST(SourceArtifact, AppliesAKustomizationsImageOverrides) {
  auto content = testing::tgz({{"deploy.yaml", kDeployment},
                               {"kustomization.yaml",
                                "resources: [deploy.yaml]\nimages:\n  - name: nginx\n"
                                "    newName: registry.k8s.io/nginx\n    newTag: \"1.27\"\n"}});
  auto a = read_source_artifact(
      artifact("application/vnd.oci.empty.v1+json", kFluxContentType, content));
  ASSERT_TRUE(a);
  EXPECT_EQ(refs(source_images(*a, content)),
            (std::vector<std::string>{"ghcr.io/acme/shop:1.5.0", "registry.k8s.io/nginx:1.27"}));
}

TEST(SourceArtifact, ReadsAHelmChartsImagesFromItsDefaultValues) {
  auto content = testing::tgz({
      {"shop/Chart.yaml", "apiVersion: v2\nname: shop\nversion: 1.5.0\nappVersion: 1.5.0\n"},
      {"shop/values.yaml",
       "image:\n  repository: ghcr.io/acme/shop\n  tag: \"\"\n"
       "worker:\n  image:\n    registry: quay.io\n    repository: acme/worker\n    tag: \"2.1\"\n"
       "metrics:\n  image: docker.io/prom/statsd-exporter:v0.26.0\n"},
      {"shop/templates/deploy.yaml",
       "spec:\n  containers:\n    - image: \"{{ .Values.image.repository }}:{{ .Values.image.tag "
       "}}\"\n    - image: busybox:1.36\n"},
      {"shop/charts/redis/Chart.yaml", "name: redis\nversion: 1.0.0\nappVersion: \"7.2\"\n"},
      {"shop/charts/redis/values.yaml", "image:\n  repository: redis\n"},
  });
  auto a = read_source_artifact(artifact(kHelmConfigType, kHelmContentType, content));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->kind, SourceArtifact::Kind::helm_chart);
  EXPECT_EQ(
      refs(source_images(*a, content)),
      (std::vector<std::string>{"docker.io/library/busybox:1.36", "docker.io/library/redis:7.2",
                                "docker.io/prom/statsd-exporter:v0.26.0", "ghcr.io/acme/shop:1.5.0",
                                "quay.io/acme/worker:2.1"}));
}

TEST(SourceArtifact, RefusesWhatIsNoSourceArtifact) {
  EXPECT_FALSE(read_source_artifact("not json"));
  EXPECT_FALSE(read_source_artifact(
      R"({"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]})"));
  EXPECT_FALSE(read_source_artifact(
      artifact("application/vnd.oci.image.config.v1+json", "application/vnd.example.blob", "x")));
  auto content = std::string("this is not a tar");
  auto a = read_source_artifact(
      artifact("application/vnd.oci.empty.v1+json", kOciLayerTarGzip, content));
  ASSERT_TRUE(a);
  EXPECT_FALSE(source_images(*a, content));
}

TEST(SourceArtifact, NamesTheFileWhoseYamlIsBroken) {
  auto content = testing::tgz({{"bad.yaml", "kind: [unclosed\n"}});
  auto a = read_source_artifact(
      artifact("application/vnd.oci.empty.v1+json", kOciLayerTarGzip, content));
  ASSERT_TRUE(a);
  auto images = source_images(*a, content);
  ASSERT_FALSE(images);
  EXPECT_NE(images.error().message.find("bad.yaml"), std::string::npos);
}

TEST(SourceArtifact, RefusesAContentLayerThatUnpacksTooLarge) {
  std::map<std::string, std::string> files;
  for (int i = 0; i < 5; ++i) files["f" + std::to_string(i) + ".yaml"] = std::string(15 << 20, '#');
  auto content = testing::tgz(files);  // 75 MiB of comments, a few hundred KiB gzip'd
  auto a = read_source_artifact(
      artifact("application/vnd.oci.empty.v1+json", kOciLayerTarGzip, content));
  ASSERT_TRUE(a);
  auto images = source_images(*a, content);
  ASSERT_FALSE(images);
  EXPECT_NE(images.error().message.find("MiB"), std::string::npos);
}

TEST(SourceArtifact, SkipsEntriesThatClimbOutOfTheTree) {
  auto content = testing::tgz({{"../evil.yaml", kDeployment}, {"ok.yaml", "kind: ConfigMap\n"}});
  auto a = read_source_artifact(
      artifact("application/vnd.oci.empty.v1+json", kOciLayerTarGzip, content));
  ASSERT_TRUE(a);
  auto images = source_images(*a, content);
  ASSERT_TRUE(images);
  EXPECT_TRUE(images->empty());
}

}  // namespace
}  // namespace outpost::bundle
