// The backup core without a server: CMS sealing and opening, the manifest's
// hash chain and pruning, the bundle's JSON form, and passphrases from a
// file descriptor. Certificates are made for each test with the openssl
// command in a temporary directory.

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "core/backup/bundle.h"
#include "core/backup/cms.h"
#include "core/backup/manifest.h"
#include "core/backup/passphrase.h"
#include "core/base/iso_time.h"
#include "core/config/config.h"

namespace siq::backup {
namespace {

namespace fs = std::filesystem;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void Spit(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

class BackupTest : public ::testing::Test {
 protected:
  BackupTest() {
    dir_ = fs::path(::testing::TempDir()) /
           fmt::format("backup-unit-{}-{}", getpid(), counter++);
    fs::create_directories(dir_);
  }
  ~BackupTest() override { fs::remove_all(dir_); }

  // A self-signed RSA certificate and its key: "<name>.crt", "<name>.key".
  void MakeRecipient(const std::string& name) {
    std::string command = fmt::format(
        "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN={0} "
        "-keyout {1}/{0}.key -out {1}/{0}.crt >/dev/null 2>&1",
        name, dir_);
    ASSERT_EQ(std::system(command.c_str()), 0);
  }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  static inline int counter = 0;
  std::string dir_;
};

constexpr char kPlain[] = "{\"format\": \"siq-backup\", \"refs\": [1, 2]}\n";

TEST_F(BackupTest, CertificateRecipientOpensWithItsKey) {
  MakeRecipient("ops");
  auto sealed = SealToCertificates(kPlain, {Path("ops.crt")});
  ASSERT_TRUE(sealed.ok()) << sealed.status().message();

  auto opened =
      Open(*sealed,
           {.key_path = Path("ops.key"), .certificate_path = Path("ops.crt")},
           "b.p7m");

  ASSERT_TRUE(opened.ok()) << opened.status().message();
  EXPECT_EQ(*opened, kPlain);
  EXPECT_EQ(sealed->find("refs"), std::string::npos);
  EXPECT_NE(sealed->find("authEnveloped-data"), std::string::npos);
}

TEST_F(BackupTest, EachOfSeveralRecipientsOpensTheBundle) {
  MakeRecipient("one");
  MakeRecipient("two");
  auto sealed = SealToCertificates(kPlain, {Path("one.crt"), Path("two.crt")});
  ASSERT_TRUE(sealed.ok());

  auto by_two = Open(*sealed, {.key_path = Path("two.key")}, "b.p7m");

  ASSERT_TRUE(by_two.ok()) << by_two.status().message();
  EXPECT_EQ(*by_two, kPlain);
}

TEST_F(BackupTest, KeyOfAnotherCertificateDoesNotOpen) {
  MakeRecipient("ops");
  MakeRecipient("stranger");
  auto sealed = SealToCertificates(kPlain, {Path("ops.crt")});
  ASSERT_TRUE(sealed.ok());

  auto opened = Open(*sealed,
                     {.key_path = Path("stranger.key"),
                      .certificate_path = Path("stranger.crt")},
                     "b.p7m");

  EXPECT_EQ(opened.status().code(), StatusCode::kCorrupt);
  EXPECT_NE(opened.status().message().find("b.p7m"), std::string::npos);
}

TEST_F(BackupTest, PassphraseOpensAndAWrongOneDoesNot) {
  auto sealed = SealWithPassphrase(kPlain, SecretBytes("correct horse"));
  ASSERT_TRUE(sealed.ok()) << sealed.status().message();

  auto right = Open(*sealed, {.passphrase = SecretBytes("correct horse")}, "p");
  auto wrong = Open(*sealed, {.passphrase = SecretBytes("correct hors")}, "p");

  ASSERT_TRUE(right.ok()) << right.status().message();
  EXPECT_EQ(*right, kPlain);
  EXPECT_EQ(wrong.status().code(), StatusCode::kCorrupt);
  EXPECT_NE(wrong.status().message().find("passphrase"), std::string::npos);
}

TEST_F(BackupTest, AlteredCiphertextIsRefused) {
  auto sealed = SealWithPassphrase(kPlain, SecretBytes("pw"));
  ASSERT_TRUE(sealed.ok());
  std::string altered = *sealed;
  // A base64 character well inside the body: part of the ciphertext or tag.
  size_t at = altered.size() - 40;
  altered[at] = altered[at] == 'A' ? 'B' : 'A';

  auto opened = Open(altered, {.passphrase = SecretBytes("pw")}, "p");

  EXPECT_FALSE(opened.ok());
}

TEST_F(BackupTest, UnauthenticatedEnvelopeIsRefused) {
  MakeRecipient("ops");
  Spit(Path("plain.txt"), kPlain);
  std::string command = fmt::format(
      "openssl cms -encrypt -aes-256-cbc -in {0}/plain.txt -out {0}/cbc.p7m "
      "{0}/ops.crt",
      dir_);
  ASSERT_EQ(std::system(command.c_str()), 0);

  auto opened =
      Open(Slurp(Path("cbc.p7m")), {.key_path = Path("ops.key")}, "cbc.p7m");

  EXPECT_EQ(opened.status().code(), StatusCode::kCorrupt);
  EXPECT_NE(opened.status().message().find("AuthEnvelopedData"),
            std::string::npos);
}

TEST_F(BackupTest, MissingCertificateIsNamed) {
  auto sealed = SealToCertificates(kPlain, {Path("nope.crt")});

  EXPECT_EQ(sealed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(sealed.status().message().find("nope.crt"), std::string::npos);
}

TEST_F(BackupTest, ManifestOfSoundBundlesVerifies) {
  TimePoint now = *ParseIso8601("2026-12-03T10:00:00Z");
  ASSERT_TRUE(WriteBundle(dir_, "one", now, 0).ok());
  ASSERT_TRUE(WriteBundle(dir_, "two", now, 0).ok());

  auto result = Verify(dir_);

  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->kept, 2u);
  EXPECT_TRUE(result->problems.empty());
  EXPECT_EQ(result->head.size(), 64u);
  EXPECT_TRUE(fs::exists(Path("siq-backup-20261203T100000Z.p7m")));
  EXPECT_TRUE(fs::exists(Path("siq-backup-20261203T100000Z-2.p7m")));
  struct stat info {};
  ASSERT_EQ(stat(Path("siq-backup-20261203T100000Z.p7m").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
}

class ManifestTamperTest : public BackupTest {
 protected:
  void SetUp() override {
    TimePoint now = *ParseIso8601("2026-12-03T10:00:00Z");
    for (int i = 0; i < 3; ++i) {
      auto written = WriteBundle(dir_, fmt::format("bundle {}", i),
                                 now + std::chrono::hours(i), 0);
      ASSERT_TRUE(written.ok());
      paths_.push_back(written->path);
    }
  }
  std::string Problems() {
    auto result = Verify(dir_);
    EXPECT_TRUE(result.ok()) << result.status().message();
    return result.ok() ? fmt::format("{}", fmt::join(result->problems, "\n"))
                       : "";
  }
  std::vector<std::string> paths_;
};

TEST_F(ManifestTamperTest, AlteredBundleIsNamed) {
  Spit(paths_[1], "bundle X");

  std::string problems = Problems();

  EXPECT_NE(problems.find(paths_[1] + ": altered or replaced"),
            std::string::npos)
      << problems;
}

TEST_F(ManifestTamperTest, RemovedBundleIsNamed) {
  fs::remove(paths_[0]);

  std::string problems = Problems();

  EXPECT_NE(problems.find(paths_[0] + ": removed"), std::string::npos)
      << problems;
}

TEST_F(ManifestTamperTest, UnlistedBundleIsNamed) {
  Spit(Path("siq-backup-20300101T000000Z.p7m"), "foreign");

  std::string problems = Problems();

  EXPECT_NE(problems.find("not in the manifest"), std::string::npos)
      << problems;
}

TEST_F(ManifestTamperTest, EntryDroppedFromTheMiddleBreaksTheChain) {
  auto manifest = ReadManifest(dir_);
  ASSERT_TRUE(manifest.ok());
  std::string text = Slurp(Path(kManifestName));
  auto doc = nlohmann::json::parse(text);
  doc["entries"].erase(1);
  Spit(Path(kManifestName), doc.dump(2));
  fs::remove(paths_[1]);

  std::string problems = Problems();

  EXPECT_NE(problems.find("does not follow the entry before it"),
            std::string::npos)
      << problems;
}

TEST_F(ManifestTamperTest, RehashedEntryWithoutTheChainIsCaught) {
  Spit(paths_[2], "replacement");
  auto doc = nlohmann::json::parse(Slurp(Path(kManifestName)));
  doc["entries"][2]["sha256"] = Sha256Hex("replacement");
  Spit(Path(kManifestName), doc.dump(2));

  std::string problems = Problems();

  EXPECT_NE(problems.find("was edited"), std::string::npos) << problems;
}

TEST_F(ManifestTamperTest, KeepPrunesTheOldestAndStaysVerifiable) {
  TimePoint later = *ParseIso8601("2026-12-04T10:00:00Z");

  auto written = WriteBundle(dir_, "bundle 3", later, 2);

  ASSERT_TRUE(written.ok()) << written.status().message();
  EXPECT_EQ(written->pruned, (std::vector<std::string>{paths_[0], paths_[1]}));
  EXPECT_FALSE(fs::exists(paths_[0]));
  EXPECT_FALSE(fs::exists(paths_[1]));
  EXPECT_TRUE(fs::exists(paths_[2]));
  auto result = Verify(dir_);
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result->problems.empty())
      << fmt::format("{}", fmt::join(result->problems, "\n"));
  EXPECT_EQ(result->kept, 2u);
  EXPECT_EQ(result->pruned, 2u);
}

TEST_F(ManifestTamperTest, NewestBundleIsTheLastKeptEntry) {
  auto manifest = ReadManifest(dir_);
  ASSERT_TRUE(manifest.ok());

  EXPECT_EQ(NewestBundle(dir_, *manifest), paths_[2]);
}

TEST_F(BackupTest, BundleJsonRoundTrips) {
  auto vps = records::VpsId::Parse("vps-1");
  Bundle bundle{.created_at = "2026-12-03T10:00:00Z",
                .records_path = "/var/lib/siq/deployments.json",
                .catalog = config::DefaultSecretKinds(),
                .policies_dir = "/p",
                .policy_files = {{"roles.yaml", "roles: []\n"}}};
  records::Deployment record{.vps = *vps,
                             .organization = "org",
                             .state = "complete",
                             .container_name = "vps-1",
                             .container_ref = "http://b/v1/containers/c"};
  record.secrets["JWT_SECRET"] = {
      .kind = "JWT_SECRET",
      .name = "vps-1_JWT_SECRET",
      .current = records::SecretVersion{.ref = "http://b/v1/secrets/s"}};
  bundle.deployments.push_back(record);
  bundle.secrets.push_back(
      {.vps = "vps-1",
       .kind = "JWT_SECRET",
       .slot = "current",
       .ref = "http://b/v1/secrets/s",
       .state = std::string(kPresent),
       .name = "vps-1_JWT_SECRET",
       .acl = barbican::Acl{.read_users = {"u"}, .project_access = false}});

  auto back = BundleFromText(BundleToJson(bundle).dump(), "b");

  ASSERT_TRUE(back.ok()) << back.status().message();
  ASSERT_EQ(back->deployments.size(), 1u);
  EXPECT_EQ(back->deployments[0], record);
  EXPECT_EQ(back->catalog.size(), bundle.catalog.size());
  EXPECT_EQ(back->policy_files, bundle.policy_files);
  ASSERT_EQ(back->secrets.size(), 1u);
  EXPECT_EQ(back->secrets[0].acl, bundle.secrets[0].acl);
  EXPECT_NE(back->Find(*vps), nullptr);
}

TEST_F(BackupTest, TextThatIsNotABundleIsCorrupt) {
  auto back = BundleFromText("{\"format\": \"other\"}", "x.p7m");

  EXPECT_EQ(back.status().code(), StatusCode::kCorrupt);
  EXPECT_NE(back.status().message().find("x.p7m"), std::string::npos);
}

TEST_F(BackupTest, ConfigBackupSectionSetsTheDefaults) {
  Spit(Path("siq.yaml"),
       "backup:\n  directory: /srv/backup\n  recipients: [/etc/a.pem, "
       "/etc/b.pem]\n  keep: 7\n");

  auto config = config::LoadConfig(Path("siq.yaml"));

  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->backup.directory, "/srv/backup");
  EXPECT_EQ(config->backup.recipients,
            (std::vector<std::string>{"/etc/a.pem", "/etc/b.pem"}));
  EXPECT_EQ(config->backup.keep, 7);
}

TEST_F(BackupTest, ConfigNegativeKeepIsRefusedWithItsLine) {
  Spit(Path("siq.yaml"), "backup:\n  directory: /srv/backup\n  keep: -1\n");

  auto config = config::LoadConfig(Path("siq.yaml"));

  EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(config.status().message().find("siq.yaml:3"), std::string::npos)
      << config.status().message();
}

TEST_F(BackupTest, PassphraseFromAPipeLosesItsNewline) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  ASSERT_EQ(write(fds[1], "s3cret pass\n", 12), 12);
  close(fds[1]);

  auto passphrase = ReadPassphraseFromFd(fds[0]);

  ASSERT_TRUE(passphrase.ok()) << passphrase.status().message();
  EXPECT_EQ(passphrase->Reveal(), "s3cret pass");
}

TEST_F(BackupTest, PassphraseFdOnStdoutIsRefused) {
  auto passphrase = ReadPassphraseFromFd(1);

  EXPECT_EQ(passphrase.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace siq::backup
