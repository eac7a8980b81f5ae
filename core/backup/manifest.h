// The backup directory and its manifest: sealed bundles side by side, and
// "manifest.json" that lists them oldest first, each entry with the SHA-256
// of its bundle and a chain hash over the entry before it:
//
//   chain[i] = SHA-256(chain[i-1] | file | created_at | sha256)
//
// (chain[-1] is 64 zeros), so that `siq backup verify` finds a bundle that
// was altered or replaced (its hash differs), removed (listed, not there,
// not pruned), slipped in (there, not listed) or an entry edited, dropped
// or reordered in the middle of the list (the chain breaks). The manifest is
// not signed: someone who may write the directory can drop the newest
// entries along with their bundles and recompute nothing; `verify` prints
// the chain head so that monitoring can compare it with an earlier run.
//
// Pruning (`--keep N`) marks the oldest entries pruned in the manifest
// first and deletes their bundles after, so a crash in between leaves a
// pruned entry whose file still exists, which verify accepts.
//
// Every write takes the lock "manifest.json.lock" in the directory and
// replaces the manifest atomically (records::WriteFileAtomically). Plain
// functions over the file system; safe to call from any thread.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "core/base/clock.h"
#include "core/base/status.h"

namespace siq::backup {

inline constexpr char kManifestName[] = "manifest.json";
inline constexpr char kBundlePrefix[] = "siq-backup-";
inline constexpr char kBundleSuffix[] = ".p7m";

struct ManifestEntry {
  std::string file;        // the bundle's name in the directory
  std::string created_at;  // ISO 8601
  std::string sha256;      // of the sealed bundle, hex
  std::string previous;    // the chain hash of the entry before
  std::string chain;       // this entry's chain hash
  std::string pruned_at;   // empty while the bundle is kept

  bool operator==(const ManifestEntry&) const = default;
};

struct Manifest {
  std::vector<ManifestEntry> entries;  // oldest first
};

// The chain hash of an entry from its fields and its predecessor's chain.
std::string ChainHash(const std::string& previous,
                      const std::string& file,
                      const std::string& created_at,
                      const std::string& sha256);

// The manifest of `dir`; an empty one when the directory has none yet.
// kCorrupt naming the file and the field when it cannot be read as a
// manifest; kIoError when it cannot be read at all.
[[nodiscard]] Result<Manifest> ReadManifest(const std::string& dir);

// The name and hash chain of a new last entry; `created_at` ISO 8601.
void AppendEntry(Manifest& manifest,
                 const std::string& file,
                 const std::string& created_at,
                 const std::string& sha256);

// The newest bundle that is not pruned, as a path in `dir`.
std::optional<std::string> NewestBundle(const std::string& dir,
                                        const Manifest& manifest);

// What one bundle written into a directory left behind.
struct Written {
  std::string path;
  std::string sha256;
  std::vector<std::string> pruned;  // paths deleted by --keep
};

// Writes `sealed` as a new bundle in `dir` (created 0700 when missing)
// named after `now` ("siq-backup-20261203T161000Z.p7m", with "-2" and so on
// when that name is taken), mode 0600, atomically; appends it to the
// manifest; and when `keep` > 0 prunes all but the newest `keep` bundles.
// Holds the manifest's lock throughout. On failure the manifest is as it
// was, or lists the new bundle (written and synced) without pruning yet.
[[nodiscard]] Result<Written> WriteBundle(const std::string& dir,
                                          std::string_view sealed,
                                          TimePoint now,
                                          size_t keep);

// What `siq backup verify` found.
struct Verification {
  size_t kept = 0;    // bundles listed and present with the right hash
  size_t pruned = 0;  // entries pruned by --keep
  std::string head;   // the chain hash of the last entry; empty for none
  std::vector<std::string> problems;  // one sentence each; empty when sound
};

// Checks the manifest's chain and every bundle against it, and looks for
// bundles the manifest does not list. Fails (rather than reporting a
// problem) only when the directory or the manifest cannot be read at all;
// a missing manifest is kNotFound.
[[nodiscard]] Result<Verification> Verify(const std::string& dir);

}  // namespace siq::backup
