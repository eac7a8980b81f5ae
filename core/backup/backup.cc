#include "core/backup/backup.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include <fmt/format.h>

#include "core/backup/manifest.h"

namespace siq::backup {
namespace {

namespace fs = std::filesystem;

Result<std::string> Seal(const std::string& plain, const Sealing& sealing) {
  if (!sealing.recipients.empty()) {
    return SealToCertificates(plain, sealing.recipients);
  }
  if (!sealing.passphrase.empty()) {
    return SealWithPassphrase(plain, sealing.passphrase);
  }
  return Status(StatusCode::kInvalidArgument,
                "no recipient and no passphrase: name --recipient CERT.pem "
                "(or backup.recipients in the config), or give "
                "--passphrase-fd N");
}

size_t CountMissing(const Bundle& bundle) {
  size_t missing = 0;
  for (const SecretCheck& check : bundle.secrets) {
    missing += check.state == kMissing ? 1 : 0;
  }
  for (const ContainerCheck& check : bundle.containers) {
    missing += check.state == kMissing ? 1 : 0;
  }
  return missing;
}

}  // namespace

bool IsBundleFile(const std::string& out) {
  std::error_code error;
  return out.ends_with(kBundleSuffix) && !fs::is_directory(out, error);
}

Result<BackupReport> MakeBackup(records::RecordStore& store,
                                const std::string& records_path,
                                const config::Config& config,
                                barbican::Client& barbican,
                                const Sealing& sealing,
                                const BackupRequest& request,
                                Clock& clock) {
  bool to_file = IsBundleFile(request.out);
  if (to_file && request.keep > 0) {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("--keep prunes a backup directory; {} names one "
                              "file",
                              request.out));
  }
  if (sealing.recipients.empty() && sealing.passphrase.empty()) {
    return Seal("", sealing).status();  // says what is missing
  }

  auto bundle = Collect(store, records_path, config, barbican, clock);
  if (!bundle.ok()) {
    return bundle.status();
  }
  auto sealed = Seal(BundleToJson(*bundle).dump(2) + "\n", sealing);
  if (!sealed.ok()) {
    return sealed.status();
  }

  BackupReport report{.deployments = bundle->deployments.size(),
                      .secret_refs = bundle->secrets.size(),
                      .missing = CountMissing(*bundle),
                      .unchecked = bundle->Unchecked()};
  if (to_file) {
    SIQ_RETURN_IF_ERROR(records::WriteFileAtomically(request.out, *sealed));
    report.path = request.out;
    report.sha256 = Sha256Hex(*sealed);
    return report;
  }
  auto written = WriteBundle(request.out, *sealed, clock.Now(), request.keep);
  if (!written.ok()) {
    return written.status();
  }
  report.path = written->path;
  report.sha256 = written->sha256;
  report.in_manifest = true;
  report.pruned = written->pruned;
  return report;
}

Result<Bundle> OpenBundle(const std::string& path, const OpeningKey& key) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status(StatusCode::kNotFound,
                  fmt::format("{}: no such backup bundle", path));
  }
  std::ostringstream sealed;
  sealed << in.rdbuf();
  auto plain = Open(sealed.str(), key, path);
  if (!plain.ok()) {
    return plain.status();
  }
  return BundleFromText(*plain, path);
}

Result<std::string> NewestBundleIn(const std::string& dir) {
  auto manifest = ReadManifest(dir);
  if (!manifest.ok()) {
    return manifest.status();
  }
  auto newest = NewestBundle(dir, *manifest);
  if (!newest) {
    return Status(StatusCode::kNotFound,
                  fmt::format("{}: no backup bundle listed in its {}; give "
                              "--from-backup FILE",
                              dir, kManifestName));
  }
  return *newest;
}

}  // namespace siq::backup
