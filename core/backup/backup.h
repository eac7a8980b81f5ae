// Making a backup and opening one: the steps `siq backup` and
// `siq recover --from-backup` share. A backup collects a Bundle
// (core/backup/bundle.h), seals it with CMS (core/backup/cms.h) and writes
// it into a backup directory with its manifest (core/backup/manifest.h),
// or to one named file.
//
// Holds no state; the client and store passed in must outlive the call.
// Not for use from several threads on one client.
#pragma once

#include <string>
#include <vector>

#include "core/backup/bundle.h"
#include "core/backup/cms.h"
#include "core/barbican/client.h"
#include "core/base/clock.h"
#include "core/base/secret.h"
#include "core/base/status.h"
#include "core/config/config.h"
#include "core/records/store.h"

namespace siq::backup {

// Who can open the bundle: the holders of these certificates' keys, or,
// when there are none, whoever knows the passphrase.
struct Sealing {
  std::vector<std::string> recipients;
  SecretBytes passphrase;
};

struct BackupRequest {
  // A directory (created when missing) that gets a new bundle and its
  // manifest, or a file ending in ".p7m" that is written alone.
  std::string out;
  size_t keep = 0;  // directory only: prune all but the newest `keep`
};

// True when `out` names a single bundle file rather than a directory.
bool IsBundleFile(const std::string& out);

struct BackupReport {
  std::string path;
  std::string sha256;
  bool in_manifest = false;
  std::vector<std::string> pruned;
  size_t deployments = 0;
  size_t secret_refs = 0;
  size_t missing = 0;    // refs Barbican answered 404 for
  size_t unchecked = 0;  // refs Barbican could not be asked about
};

// Collects, seals and writes one bundle. Fails with kInvalidArgument for a
// sealing without recipients or passphrase and for --keep with a file;
// otherwise as Collect, the sealing or the write does. Nothing is written
// unless the bundle was sealed. Network: the checks of Collect.
[[nodiscard]] Result<BackupReport> MakeBackup(records::RecordStore& store,
                                              const std::string& records_path,
                                              const config::Config& config,
                                              barbican::Client& barbican,
                                              const Sealing& sealing,
                                              const BackupRequest& request,
                                              Clock& clock = DefaultClock());

// Reads, opens and parses the bundle at `path`; errors name the file.
[[nodiscard]] Result<Bundle> OpenBundle(const std::string& path,
                                        const OpeningKey& key);

// The newest kept bundle of the manifest in `dir`; kNotFound naming the
// directory when there is none.
[[nodiscard]] Result<std::string> NewestBundleIn(const std::string& dir);

}  // namespace siq::backup
