#include "bundle/referrers.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace outpost::bundle {
namespace {

const Digest kSubject = sha256_of("the image");

std::string referrer_manifest(const Digest& subject, std::string artifact_type = "") {
  nlohmann::json j = {{"schemaVersion", 2},
                      {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                      {"config",
                       {{"mediaType", "application/vnd.dev.cosign.simplesigning.v1+json"},
                        {"digest", sha256_of("{}").str()},
                        {"size", 2}}},
                      {"layers", nlohmann::json::array()},
                      {"subject",
                       {{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                        {"digest", subject.str()},
                        {"size", 9}}},
                      {"annotations", {{"org.example.signed-by", "ci"}}}};
  if (!artifact_type.empty()) j["artifactType"] = artifact_type;
  return j.dump();
}

TEST(Referrers, TheSchemeTagsOfASubject) {
  auto tags = referrer_tag_names(kSubject);
  const std::string hex(kSubject.hex());
  EXPECT_EQ(tags, (std::vector<std::string>{"sha256-" + hex, "sha256-" + hex + ".sig",
                                            "sha256-" + hex + ".att", "sha256-" + hex + ".sbom"}));
}

TEST(Referrers, AManifestNamingTheSubjectIsAReferrerTypedByItsArtifactTypeOrConfig) {
  auto sbom = referrer_manifest(kSubject, "application/spdx+json");
  auto r = as_referrer(sbom, sha256_of(sbom), "", kSubject);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->artifact_type, "application/spdx+json");
  EXPECT_EQ(r->media_type, "application/vnd.oci.image.manifest.v1+json");
  EXPECT_EQ(r->size, sbom.size());
  EXPECT_NE(r->annotations_json.find("signed-by"), std::string::npos);
  auto sig = referrer_manifest(kSubject);
  auto s = as_referrer(sig, sha256_of(sig), "", kSubject);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->artifact_type, "application/vnd.dev.cosign.simplesigning.v1+json");
}

TEST(Referrers, AManifestWithAnotherOrNoSubjectIsNot) {
  auto other = referrer_manifest(sha256_of("another image"));
  EXPECT_FALSE(as_referrer(other, sha256_of(other), "", kSubject));
  EXPECT_FALSE(as_referrer(R"({"schemaVersion":2})", sha256_of("x"), "", kSubject));
  EXPECT_FALSE(as_referrer("not json", sha256_of("x"), "", kSubject));
  EXPECT_FALSE(as_referrer(R"({"subject":"sha256:abc"})", sha256_of("x"), "", kSubject));
}

TEST(Referrers, MergingKeepsWhatWasKeptAndAddsEachDigestOnce) {
  auto a = referrer_manifest(kSubject, "application/spdx+json");
  auto b = referrer_manifest(kSubject, "application/vnd.in-toto+json");
  auto ra = *as_referrer(a, sha256_of(a), "", kSubject);
  auto rb = *as_referrer(b, sha256_of(b), "", kSubject);
  auto first = merge_referrers_index("", {ra});
  auto merged = nlohmann::json::parse(merge_referrers_index(first, {ra, rb}));
  EXPECT_EQ(merged["mediaType"], "application/vnd.oci.image.index.v1+json");
  ASSERT_EQ(merged["manifests"].size(), 2u);
  EXPECT_EQ(merged["manifests"][0]["digest"], ra.digest.str());
  EXPECT_EQ(merged["manifests"][1]["artifactType"], "application/vnd.in-toto+json");
  EXPECT_EQ(merged["manifests"][1]["annotations"]["org.example.signed-by"], "ci");
  auto from_garbage = nlohmann::json::parse(merge_referrers_index("{oops", {rb}));
  EXPECT_EQ(from_garbage["manifests"].size(), 1u);
}

TEST(Referrers, ABundleNamingAReferrerItDoesNotCarryOrAHostileTagIsRefused) {
  BundleManifest m;
  m.name = "shop";
  m.version = "v1";
  const Digest image = sha256_of("image"), sig = sha256_of("sig");
  m.images.push_back({"r/app:v1", "r", "app", "v1", image, "", {"linux/amd64"}, {}, {}});
  m.blobs.push_back({image, 5, "application/vnd.oci.image.manifest.v1+json", true});
  m.images[0].referrers.push_back(
      {image, sig, 3, "application/vnd.oci.image.manifest.v1+json", "application/spdx+json", ""});
  auto missing = BundleManifest::parse(m.to_json());
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("not among the blobs"), std::string::npos);
  m.blobs.push_back({sig, 3, "application/vnd.oci.image.manifest.v1+json", true});
  auto ok = BundleManifest::parse(m.to_json());
  ASSERT_TRUE(ok) << ok.error().message;
  ASSERT_EQ(ok->images[0].referrers.size(), 1u);
  EXPECT_EQ(ok->images[0].referrers[0].artifact_type, "application/spdx+json");
  for (const std::string& tag :
       std::vector<std::string>{"v1", "../x", "sha256-" + std::string(200, 'a'), "-x"}) {
    m.images[0].referrer_tags = {{tag, sig}};
    EXPECT_FALSE(BundleManifest::parse(m.to_json())) << tag;
  }
  m.images[0].referrer_tags = {{"sha256-" + std::string(image.hex()) + ".sig", sig}};
  EXPECT_TRUE(BundleManifest::parse(m.to_json()));
}

TEST(Referrers, ABundleWithoutReferrersWritesNoReferrerKeys) {
  BundleManifest m;
  m.name = "shop";
  m.version = "v1";
  m.images.push_back({"r/app:v1", "r", "app", "v1", sha256_of("i"), "", {}, {}, {}});
  auto j = m.to_json();
  EXPECT_EQ(j.find("referrer"), std::string::npos);  // old bundles keep their digests
}

}  // namespace
}  // namespace outpost::bundle
