// The Barbican client against the real local stack: every call round-trips,
// bytes come back as they went in, lists walk every page, and no metadata
// read or log line ever carries a payload.

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "core/barbican/client.h"
#include "core/base/log.h"
#include "tests/integration/stack.h"

namespace siq::testing {
namespace {

using barbican::Acl;
using barbican::Consumer;
using barbican::ContainerEntry;
using barbican::SecretRef;
using barbican::SecretSpec;

class BarbicanTest : public ::testing::Test {
 protected:
  BarbicanTest() : deployer_(DeployerConfig()) {}

  ~BarbicanTest() override {
    for (const SecretRef& ref : created_) {
      (void)client().DeleteSecret(ref);
    }
  }

  barbican::Client& client() { return deployer_.barbican; }

  SecretRef Store(const std::string& name,
                  std::string_view payload,
                  std::string content_type = "application/octet-stream") {
    SecretSpec spec{.name = name, .payload_content_type = content_type};
    auto ref = client().CreateSecret(spec, SecretBytes(payload));
    EXPECT_TRUE(ref.ok()) << ref.status().message();
    if (!ref.ok()) {
      return {};
    }
    created_.push_back(*ref);
    return *ref;
  }

  Connected deployer_;
  std::vector<SecretRef> created_;
};

TEST_F(BarbicanTest, SecretMetadataRoundTrips) {
  std::string name = UniqueName("meta");
  SecretRef ref = Store(name, "value");

  auto meta = client().GetSecret(ref);

  ASSERT_TRUE(meta.ok()) << meta.status().message();
  EXPECT_EQ(meta->name, name);
  EXPECT_EQ(meta->ref, ref);
  EXPECT_EQ(meta->secret_type, "opaque");
  EXPECT_EQ(meta->status, "ACTIVE");
  EXPECT_EQ(meta->content_types["default"], "application/octet-stream");
  EXPECT_EQ(meta->creator_id, deployer_.session.token_info().user_id);
}

class PayloadTest : public BarbicanTest,
                    public ::testing::WithParamInterface<std::string> {};

TEST_P(PayloadTest, PayloadComesBackByteIdentical) {
  const std::string& payload = GetParam();
  SecretRef ref = Store(UniqueName("bytes"), payload);

  auto read = client().GetPayload(ref);

  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_EQ(read->Reveal(), payload);
}

// Short names: ctest pads every line to the longest test name.
std::string PayloadName(const ::testing::TestParamInfo<std::string>& param) {
  static const char* const kNames[] = {"TrailingNewline", "TrailingSpaces",
                                       "Nul", "InvalidUtf8", "FourKiB"};
  return kNames[param.index];
}

INSTANTIATE_TEST_SUITE_P(
    AwkwardBytes,
    PayloadTest,
    ::testing::Values(std::string("trailing newline\n"),
                      std::string("trailing spaces   "),
                      std::string("nul\0inside", 10),
                      std::string("\xff\xfe invalid \xc3\x28 utf-8\x80"),
                      std::string(4096, '\x01')),
    PayloadName);

TEST_F(BarbicanTest, TextPayloadComesBackAsSent) {
  SecretRef ref = Store(UniqueName("text"), "plain text value", "text/plain");

  auto read = client().GetPayload(ref);

  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_EQ(read->Reveal(), "plain text value");
}

TEST_F(BarbicanTest, DeletedSecretIsGone) {
  auto ref =
      client().CreateSecret({.name = UniqueName("gone")}, SecretBytes("x"));
  ASSERT_TRUE(ref.ok());

  Status deleted = client().DeleteSecret(*ref);
  auto meta = client().GetSecret(*ref);

  EXPECT_TRUE(deleted.ok()) << deleted.message();
  EXPECT_EQ(meta.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(meta.status().http_status(), 404);
}

TEST_F(BarbicanTest, ListingWalksEveryPage) {
  std::string prefix = UniqueName("page");
  for (int i = 0; i < 250; ++i) {
    Store(fmt::format("{}-{:03}", prefix, i), "v");
  }

  auto listed = client().ListSecrets({.name = prefix + "-%"});

  ASSERT_TRUE(listed.ok()) << listed.status().message();
  std::set<std::string> names;
  for (const auto& meta : *listed) {
    names.insert(meta.name);
  }
  EXPECT_EQ(listed->size(), 250u);
  EXPECT_EQ(names.size(), 250u);
  EXPECT_EQ(*names.begin(), prefix + "-000");
  EXPECT_EQ(*names.rbegin(), prefix + "-249");
}

TEST_F(BarbicanTest, NameSearchRechecksExactNames) {
  std::string vps = UniqueName("vps1");
  SecretRef wanted = Store(vps + "_JWT_SECRET", "a");
  Store(vps + "XJWT_SECRET", "b");

  auto loose = client().ListSecrets({.name = vps + "_JWT_SECRET"});
  auto exact = client().FindSecretsNamed(vps + "_JWT_SECRET");

  ASSERT_TRUE(loose.ok() && exact.ok());
  EXPECT_EQ(loose->size(), 2u) << "Barbican's LIKE trap no longer bites";
  ASSERT_EQ(exact->size(), 1u);
  EXPECT_EQ(exact->front().ref, wanted);
}

TEST_F(BarbicanTest, MetadataReadNeverReturnsThePayload) {
  std::string canary = UniqueName("canary-payload-7f3a");
  SecretRef ref = Store(UniqueName("meta-only"), canary, "text/plain");

  auto meta = client().GetSecret(ref);

  ASSERT_TRUE(meta.ok()) << meta.status().message();
  const auto& last = deployer_.transport.exchanges().back();
  EXPECT_EQ(http::PathOf(last.url), "/v1/secrets/" + std::string(ref.id()));
  EXPECT_NE(last.body.find("secret_ref"), std::string::npos);
  EXPECT_EQ(last.body.find(canary), std::string::npos);
}

TEST_F(BarbicanTest, SecretUserMetadataRoundTrips) {
  SecretRef ref = Store(UniqueName("usermeta"), "v");

  Status put = client().PutSecretMetadata(
      ref, {{"siq-kind", "JWT_SECRET"}, {"due", "2027-03-01T00:00:00Z"}});
  auto got = client().GetSecretMetadata(ref);

  ASSERT_TRUE(put.ok()) << put.message();
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(*got,
            (std::map<std::string, std::string>{{"due", "2027-03-01T00:00:00Z"},
                                                {"siq-kind", "JWT_SECRET"}}));
}

TEST_F(BarbicanTest, KeyOrderGeneratesASecretServerSide) {
  std::string name = UniqueName("order");

  auto order_ref = client().CreateKeyOrder({.name = name});
  ASSERT_TRUE(order_ref.ok()) << order_ref.status().message();
  auto order = client().WaitForOrder(*order_ref, std::chrono::seconds(30));
  ASSERT_TRUE(order.ok()) << order.status().message();
  created_.push_back(order->secret_ref);
  auto listed = client().ListOrders();
  auto meta = client().GetSecret(order->secret_ref);
  Status deleted = client().DeleteOrder(*order_ref);

  EXPECT_EQ(order->status, "ACTIVE");
  EXPECT_EQ(order->name, name);
  ASSERT_TRUE(listed.ok()) << listed.status().message();
  EXPECT_TRUE(std::any_of(listed->begin(), listed->end(),
                          [&](const auto& o) { return o.ref == *order_ref; }));
  ASSERT_TRUE(meta.ok()) << meta.status().message();
  EXPECT_EQ(meta->name, name);
  EXPECT_EQ(meta->bit_length, 256);
  EXPECT_EQ(meta->algorithm, "aes");
  // Barbican's default policy keeps deleting orders to admins.
  EXPECT_EQ(deleted.code(), StatusCode::kPermissionDenied) << deleted.message();
  EXPECT_NE(deleted.message().find(order_ref->url()), std::string::npos);
}

TEST_F(BarbicanTest, ContainerHoldsAndReleasesSecrets) {
  SecretRef first = Store(UniqueName("c1"), "1");
  SecretRef second = Store(UniqueName("c2"), "2");
  std::string name = UniqueName("container");

  auto ref = client().CreateContainer(name, {{"FIRST", first}});
  ASSERT_TRUE(ref.ok()) << ref.status().message();
  Status added = client().AddContainerSecret(*ref, {"SECOND", second});
  auto with_both = client().GetContainer(*ref);
  Status removed = client().RemoveContainerSecret(*ref, {"FIRST", first});
  auto with_second = client().GetContainer(*ref);
  auto listed = client().ListContainers(name);
  Status deleted = client().DeleteContainer(*ref);
  auto after = client().GetContainer(*ref);

  EXPECT_TRUE(added.ok()) << added.message();
  ASSERT_TRUE(with_both.ok()) << with_both.status().message();
  EXPECT_EQ(with_both->name, name);
  EXPECT_EQ(with_both->type, "generic");
  EXPECT_EQ(with_both->secrets.size(), 2u);
  EXPECT_TRUE(removed.ok()) << removed.message();
  ASSERT_TRUE(with_second.ok());
  EXPECT_EQ(with_second->secrets,
            (std::vector<ContainerEntry>{{"SECOND", second}}));
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().ref, *ref);
  EXPECT_TRUE(deleted.ok()) << deleted.message();
  EXPECT_EQ(after.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(client().GetSecret(first).ok()) << "secrets outlive containers";
}

TEST_F(BarbicanTest, AclsOnSecretsAndContainersRoundTrip) {
  SecretRef secret = Store(UniqueName("acl"), "v");
  auto container = client().CreateContainer(UniqueName("acl-c"), {});
  ASSERT_TRUE(container.ok());
  Acl acl{.read_users = {"0123456789abcdef0123456789abcdef"},
          .project_access = false};

  auto before = client().GetSecretAcl(secret);
  Status set_secret = client().SetSecretAcl(secret, acl);
  Status set_container = client().SetContainerAcl(*container, acl);
  auto secret_acl = client().GetSecretAcl(secret);
  auto container_acl = client().GetContainerAcl(*container);

  ASSERT_TRUE(before.ok()) << before.status().message();
  EXPECT_EQ(*before, Acl{});
  EXPECT_TRUE(set_secret.ok()) << set_secret.message();
  EXPECT_TRUE(set_container.ok()) << set_container.message();
  ASSERT_TRUE(secret_acl.ok());
  EXPECT_EQ(*secret_acl, acl);
  ASSERT_TRUE(container_acl.ok());
  EXPECT_EQ(*container_acl, acl);
  EXPECT_TRUE(client().DeleteContainer(*container).ok());
}

TEST_F(BarbicanTest, ConsumersAreRegisteredAndRemoved) {
  SecretRef secret = Store(UniqueName("consumed"), "v");
  Consumer consumer{"siq-run", "vps", UniqueName("vps")};

  Status added = client().AddSecretConsumer(secret, consumer);
  auto listed = client().ListSecretConsumers(secret);
  Status removed = client().RemoveSecretConsumer(secret, consumer);
  auto after = client().ListSecretConsumers(secret);

  EXPECT_TRUE(added.ok()) << added.message();
  ASSERT_TRUE(listed.ok()) << listed.status().message();
  EXPECT_EQ(*listed, std::vector<Consumer>{consumer});
  EXPECT_TRUE(removed.ok()) << removed.message();
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->empty());
}

// Captures everything written to stderr (fd 2) while it lives.
class StderrCapture {
 public:
  StderrCapture() : path_(::testing::TempDir() + UniqueName("stderr")) {
    std::fflush(stderr);
    saved_ = dup(2);
    FILE* file = std::fopen(path_.c_str(), "w");
    dup2(fileno(file), 2);
    std::fclose(file);
  }
  std::string Finish() {
    std::fflush(stderr);
    dup2(saved_, 2);
    close(saved_);
    std::ifstream in(path_);
    std::stringstream text;
    text << in.rdbuf();
    std::remove(path_.c_str());
    return text.str();
  }

 private:
  std::string path_;
  int saved_ = -1;
};

TEST_F(BarbicanTest, DebugLogsCarryNoPayloadPasswordOrToken) {
  std::string canary = UniqueName("canary-8c1e");
  std::string password(DeployerConfig().password.Reveal());
  StderrCapture capture;
  log::SetVerbosity(log::Verbosity::kDebug);

  Connected fresh(DeployerConfig());
  auto ref = fresh.barbican.CreateSecret({.name = UniqueName("canary")},
                                         SecretBytes(canary));
  auto read = ref.ok() ? fresh.barbican.GetPayload(*ref)
                       : Result<SecretBytes>(ref.status());
  Status deleted = ref.ok() ? fresh.barbican.DeleteSecret(*ref) : OkStatus();
  log::SetVerbosity(log::Verbosity::kDefault);
  std::string logged = capture.Finish();

  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_EQ(read->Reveal(), canary);
  EXPECT_TRUE(deleted.ok());
  EXPECT_NE(logged.find("POST /v1/secrets 201"), std::string::npos) << logged;
  EXPECT_NE(logged.find("/payload 200"), std::string::npos) << logged;
  EXPECT_EQ(logged.find(canary), std::string::npos);
  EXPECT_EQ(logged.find(password), std::string::npos);
  EXPECT_EQ(logged.find("gAAAAA"), std::string::npos) << "a Fernet token";
}

}  // namespace
}  // namespace siq::testing
