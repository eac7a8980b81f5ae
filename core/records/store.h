// The record store: where the deployment records live between runs of siq.
//
// Commands see the RecordStore interface, so that a shared database can back
// it later for fleets run from many machines. FileRecordStore keeps every
// record in one JSON file on the local disk (by default
// /var/lib/siq/deployments.json):
//
//   {"schema_version": 1, "deployments": {"<vps>": {<record>}, ...}}
//
// The file is replaced whole and atomically on every change, is mode 0600
// from the moment it exists, and is guarded by an flock(2) lock on the
// sidecar file "<path>.lock" so that two siq processes never interleave their
// changes. The kernel drops the lock of a process that dies, however it dies,
// so a killed run never blocks the next one. A file siq cannot trust is
// reported, never overwritten.
//
// Thread safety: a FileRecordStore may be shared between threads. Updates
// queue on a mutex of the object (flock alone would make them poll) and then
// take the file lock, which also orders them against other processes and
// other FileRecordStore objects on the same file. Reads take no lock: a
// reader sees the file as it was before or after an Update, never between.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/base/clock.h"
#include "core/base/status.h"
#include "core/records/deployment.h"

namespace siq::records {

// The schema_version that FileRecordStore writes (one record per line).
inline constexpr int kRecordSchemaVersion = 2;
// The schema_version of the older layout, one JSON document, still read.
inline constexpr int kDocumentSchemaVersion = 1;

class RecordStore {
 public:
  // Edits the record of one VPS in place. `record` holds the stored record,
  // or nothing when there is none; the change may fill it to create the
  // record, modify it, or reset it to delete the record. Returning an error
  // abandons the change.
  using Change = std::function<Status(std::optional<Deployment>& record)>;

  virtual ~RecordStore() = default;

  // Called once per record by ForEach; an error stops the walk.
  using Visit = std::function<Status(const Deployment& record)>;

  // Every record, sorted by VPS id; none for a store not yet written.
  [[nodiscard]] virtual Result<std::vector<Deployment>> LoadAll() = 0;

  // Calls `visit` on every record, in the order LoadAll returns them, while
  // reading the store once: a store may hold only the record being visited
  // in memory, so that a walk over a large fleet needs memory for one
  // record, not for all. Returns the first error of `visit` as it is, or
  // the error LoadAll would return for a store that cannot be read; records
  // before the fault may have been visited by then, so a caller that
  // changes anything collects what it needs first and acts once ForEach
  // returned OK. This default loads everything and walks it.
  [[nodiscard]] virtual Status ForEach(const Visit& visit);

  // The record of `vps`, or nothing when the store has none.
  [[nodiscard]] virtual Result<std::optional<Deployment>> Load(
      const VpsId& vps) = 0;

  // Reads the record of `vps`, runs `change` on it and stores the result, all
  // under the store's exclusive lock, so that no other Update comes between.
  // When `change` fails, nothing is written and its error is returned as it
  // is. A record left by `change` must still belong to `vps` (kInternal
  // otherwise). `change` runs while the lock is held: keep it short, and do
  // not call Update from inside it.
  [[nodiscard]] virtual Status Update(const VpsId& vps,
                                      const Change& change) = 0;
};

// An exclusive flock(2) lock on a file, held until the object is destroyed
// or the process ends. Movable, not copyable; not for sharing between
// threads.
class FileLock {
 public:
  FileLock(FileLock&& other) noexcept;
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();

  // The lock file.
  const std::string& path() const { return path_; }

 private:
  friend Result<FileLock> AcquireFileLock(const std::string& path,
                                          std::chrono::milliseconds wait,
                                          Clock& clock);
  FileLock(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}

  std::string path_;
  int fd_ = -1;
};

// Locks the file at `path`, creating it with mode 0600 when it does not
// exist (its directory must). Lock files are never deleted: removing one
// while another process waits on it would let two holders in.
//
// While another open file holds the lock, tries again after short sleeps on
// `clock` until `wait` has passed (a wait of 0 tries once), then fails with
// kLocked: "<path> is locked by another siq process (waited 10s)". Fails with
// kIoError, naming the file and the system's reason, when the file cannot be
// opened or locked.
[[nodiscard]] Result<FileLock> AcquireFileLock(const std::string& path,
                                               std::chrono::milliseconds wait,
                                               Clock& clock = DefaultClock());

// Replaces the file at `path` with `bytes`, atomically and durably: a
// temporary file in the same directory (created 0600, fsync), renamed over
// `path`, then the directory synced. Readers and a crash see the old file or
// the new one, whole. Fails with kIoError naming the file and the system's
// reason; the old file is then left as it was. Takes no lock: callers that
// need one hold it. The record store writes with it, and so do backups.
[[nodiscard]] Status WriteFileAtomically(const std::string& path,
                                         std::string_view bytes);

class FileRecordStore : public RecordStore {
 public:
  // A store in the file at `path`, which need not exist yet; a symlink is
  // followed to its target, which is then read, locked and replaced. Update
  // waits up to `lock_wait` for the lock. `clock` must outlive the store.
  FileRecordStore(std::string path,
                  std::chrono::milliseconds lock_wait,
                  Clock& clock = DefaultClock());

  // Reading fails with kIoError when the file exists but cannot be read, and
  // with kCorrupt when it is not JSON (naming the line and column), has
  // another schema_version (naming both), or holds a field that is not valid
  // (naming its JSON path), and in the lines layout when a record is out
  // of VPS-id order or repeated (naming the line). Every message names the
  // file, and the line of a record in the lines layout.
  [[nodiscard]] Result<std::vector<Deployment>> LoadAll() override;
  [[nodiscard]] Result<std::optional<Deployment>> Load(
      const VpsId& vps) override;
  // Streams the file: each record is parsed, visited and dropped before the
  // next is read, so memory stays at one record whatever the file's size.
  // Visits in the order of the file, which is LoadAll's order for every file
  // siq wrote. Fails as LoadAll does, naming the same line, column or JSON
  // path.
  [[nodiscard]] Status ForEach(const Visit& visit) override;

  // Takes the lock on "<path>.lock", reads the file, and writes every record
  // to a new file that replaces the old one (temporary file in the same
  // directory, created 0600, fsync, rename, fsync of the directory).
  // Fails with kLocked when the lock is not free within lock_wait, with
  // kIoError when the file's directory does not exist or a write fails,
  // and as reading does when the stored file cannot be trusted; in every
  // failure the stored file is left as it was.
  [[nodiscard]] Status Update(const VpsId& vps, const Change& change) override;

  // A lock on "<path><suffix>" (".rotate.lock"), for commands that allow one
  // runner at a time; AcquireFileLock describes the wait and the errors.
  [[nodiscard]] Result<FileLock> LockFor(std::string_view suffix,
                                         std::chrono::milliseconds wait);

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::chrono::milliseconds lock_wait_;
  Clock& clock_;
  std::mutex update_mutex_;
};

}  // namespace siq::records
