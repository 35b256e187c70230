#include "s3/client.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "../fakes/fake_http.hpp"
#include "../fakes/temp_dir.hpp"
#include "core/digest.hpp"
#include "s3/metric_defs.hpp"

namespace outpost::s3 {
namespace {

using testing::FakeHttp;
using testing::header;

http::ClientResponse answer(int status, std::string body = {},
                            std::vector<std::pair<std::string, std::string>> headers = {}) {
  http::ClientResponse r;
  r.status = status;
  r.body = std::move(body);
  for (auto& [k, v] : headers) r.headers.add(k, v);
  return r;
}

std::string s3_error(const std::string& code) {
  return "<?xml version=\"1.0\"?><Error><Code>" + code + "</Code><Message>m</Message></Error>";
}

struct S3ClientTest : ::testing::Test {
  S3Config cfg = [] {
    S3Config c;
    c.endpoint = "http://127.0.0.1:7480";
    c.bucket = "outpost-hub";
    c.region = "eu-central-1";
    c.prefix = "eu/";
    c.access_key = "AK";
    c.secret_key = "SK";
    c.insecure = true;
    c.multipart_threshold = 8;
    c.part_size = 5;
    return c;
  }();
  FakeHttp http;
  Metrics metrics;
  FakeClock clock;
  Client client{cfg, http, metrics, clock};
  testing::TempDir dir;
};

TEST_F(S3ClientTest, EveryRequestIsSignedPathStyleAndNamesItsPayloadHash) {
  http.set([](const http::ClientRequest&, http::BodySink*) { return answer(200); });
  auto file = dir.path() / "blob";
  std::ofstream(file) << "1234";
  const auto hex = std::string(sha256_of("1234").hex());
  ASSERT_TRUE(client.put_file("blobs/sha256/" + hex, file, 4, hex));
  auto req = http.requests().at(0);
  EXPECT_EQ(req.method, "PUT");
  EXPECT_EQ(req.url, "http://127.0.0.1:7480/outpost-hub/eu/blobs/sha256/" + hex);
  ASSERT_TRUE(req.aws_sigv4);
  EXPECT_EQ(req.aws_sigv4->provider, "aws:amz:eu-central-1:s3");
  EXPECT_EQ(req.aws_sigv4->access_key, "AK");
  EXPECT_EQ(header(req, "x-amz-content-sha256"), hex);
  EXPECT_EQ(req.body_file, file);
}

TEST_F(S3ClientTest, SlowDownIsRetriedWithBackoffAndTheBucketAnswerServed) {
  int calls = 0;
  http.set([&](const http::ClientRequest&, http::BodySink*) {
    return ++calls < 3 ? answer(503, s3_error("SlowDown")) : answer(200, "<ListBucketResult/>");
  });
  ASSERT_TRUE(client.check_bucket());
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(metrics.counter(metric::requests_total).value({{"op", "list"}, {"outcome", "retried"}}),
            2);
}

TEST_F(S3ClientTest, RefusedCredentialsAndAMissingBucketNameTheBucketAndS3sCode) {
  http.set([](const http::ClientRequest&, http::BodySink*) {
    return answer(403, s3_error("InvalidAccessKeyId"));
  });
  auto r = client.check_bucket();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::unauthorized);
  EXPECT_NE(r.error().message.find("bucket outpost-hub"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("InvalidAccessKeyId"), std::string::npos);
  http.set([](const http::ClientRequest&, http::BodySink*) {
    return answer(404, s3_error("NoSuchBucket"));
  });
  r = client.check_bucket();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::not_found);
  EXPECT_NE(r.error().message.find("NoSuchBucket"), std::string::npos);
}

TEST_F(S3ClientTest, ALargeFileGoesUpInPartsAndAFailedPartAbortsTheUpload) {
  auto file = dir.path() / "big";
  std::ofstream(file) << "0123456789ab";  // 12 bytes: parts of 5, 5, 2
  http.set([](const http::ClientRequest& r, http::BodySink*) {
    if (r.url.ends_with("?uploads="))
      return answer(200,
                    "<InitiateMultipartUploadResult><UploadId>u+1</UploadId>"
                    "</InitiateMultipartUploadResult>");
    if (r.url.find("partNumber=") != std::string::npos)
      return answer(200, "", {{"ETag", "\"e" + std::to_string(r.body_offset) + "\""}});
    return answer(200, "<CompleteMultipartUploadResult/>");
  });
  ASSERT_TRUE(client.put_file("k", file, 12, "unused"));
  auto reqs = http.requests();
  ASSERT_EQ(reqs.size(), 5u);
  EXPECT_EQ(reqs[1].url, "http://127.0.0.1:7480/outpost-hub/eu/k?partNumber=1&uploadId=u%2B1");
  EXPECT_EQ(reqs[3].body_offset, 10u);
  EXPECT_EQ(reqs[3].body_length, 2u);
  EXPECT_EQ(header(reqs[3], "x-amz-content-sha256"), "UNSIGNED-PAYLOAD");
  EXPECT_NE(reqs[4].body.find("<PartNumber>3</PartNumber><ETag>\"e10\"</ETag>"), std::string::npos);

  FakeHttp failing([](const http::ClientRequest& r, http::BodySink*) {
    if (r.url.ends_with("?uploads="))
      return answer(200,
                    "<InitiateMultipartUploadResult><UploadId>u2</UploadId>"
                    "</InitiateMultipartUploadResult>");
    if (r.url.find("partNumber=2") != std::string::npos)
      return answer(400, s3_error("InvalidPart"));
    return answer(r.method == "DELETE" ? 204 : 200, "", {{"ETag", "\"e\""}});
  });
  Client c2(cfg, failing, metrics, clock);
  EXPECT_FALSE(c2.put_file("k", file, 12, "unused"));
  EXPECT_EQ(failing.count("DELETE", "uploadId=u2"), 1u);
}

TEST_F(S3ClientTest, DeletesGoInBatchesOf1000WithContentMd5AndRefusalsComeBack) {
  http.set([](const http::ClientRequest& r, http::BodySink*) {
    EXPECT_TRUE(header(r, "Content-MD5"));
    return answer(200,
                  "<DeleteResult><Error><Key>eu/b</Key><Code>AccessDenied</Code></Error>"
                  "</DeleteResult>");
  });
  std::vector<std::string> keys(1500, "a");
  keys[1] = "b";
  auto refused = client.remove(keys);
  ASSERT_TRUE(refused);
  EXPECT_EQ(http.count("POST", "?delete="), 2u);
  EXPECT_EQ(*refused, (std::vector<std::string>{"b", "b"}));  // one answer per batch here
}

TEST_F(S3ClientTest, AListPageStripsThePrefixAndCarriesTheContinuationToken) {
  http.set([](const http::ClientRequest& r, http::BodySink*) {
    EXPECT_NE(r.url.find("prefix=eu%2Fblobs%2F"), std::string::npos) << r.url;
    return answer(
        200,
        "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<IsTruncated>true</IsTruncated><NextContinuationToken>t/1=</NextContinuationToken>"
        "<Contents><Key>eu/blobs/sha256/ab</Key><Size>42</Size></Contents>"
        "</ListBucketResult>");
  });
  auto page = client.list("blobs/", "");
  ASSERT_TRUE(page);
  ASSERT_EQ(page->objects.size(), 1u);
  EXPECT_EQ(page->objects[0].key, "blobs/sha256/ab");
  EXPECT_EQ(page->objects[0].size, 42u);
  EXPECT_EQ(page->next_token, "t/1=");
  ASSERT_TRUE(client.list("blobs/", page->next_token));
  EXPECT_NE(http.requests().back().url.find("continuation-token=t%2F1%3D"), std::string::npos);
}

}  // namespace
}  // namespace outpost::s3
