// Provisioning many VPSs in one run: the batch file that lists them, and the
// runner that provisions them on several threads.
//
// A batch file is CSV with a header line, or JSON lines (one object per
// line); the first line that is neither blank nor a '#' comment decides
// which. Its fields are vps, org, reader (an existing Keystone user, id or
// name in the readers' domain), and optionally env and region. The whole
// file is checked before anything is provisioned.
//
// The runner gives each thread its own Connection from one ConnectionShare
// (one token, one pool of connections) and its own Provisioner; they share
// the record store and the Readers, both safe to share. Each VPS is
// provisioned exactly as `siq provision --vps` would: under its own lock,
// idempotent and crash-safe. A VPS that fails does not stop the others.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/barbican/connection.h"
#include "core/base/status.h"
#include "core/config/config.h"
#include "core/provision/provisioner.h"
#include "core/provision/readers.h"
#include "core/records/store.h"

namespace siq::provision {

// One VPS of a batch file, and the line it came from.
struct BatchEntry {
  int line = 0;
  Request request;
};

// Reads the batch in `text`; `file` names it in errors. Fails with
// kInvalidArgument listing every bad line as "<file>:<line>: <field>: <why>"
// (at most 20 of them): a malformed CSV row or JSON object, an unknown or
// missing field, an invalid VPS id, a VPS listed twice, or a file with no
// VPS at all.
[[nodiscard]] Result<std::vector<BatchEntry>> ParseBatch(std::string_view text,
                                                         std::string_view file);

// ParseBatch on the file at `path`; kIoError naming it when it cannot be
// read.
[[nodiscard]] Result<std::vector<BatchEntry>> ReadBatchFile(
    const std::string& path);

// How far a batch has come; handed to BatchOptions::progress.
struct BatchProgress {
  size_t done = 0;
  size_t failed = 0;
  size_t total = 0;
};

struct BatchOptions {
  int parallel = 1;  // threads, at least 1
  // How long a VPS waits for another siq provisioning the same VPS.
  std::chrono::milliseconds lock_wait{10000};
  // Called after each VPS, from the worker that did it, one call at a time.
  std::function<void(const BatchProgress&)> progress;
};

// What became of one entry. `status` is the error when it failed.
struct BatchItem {
  int line = 0;
  records::VpsId vps;
  Status status;
  Outcome outcome = Outcome::kProvisioned;
  std::string container_ref;
  std::chrono::milliseconds elapsed{0};
};

struct BatchReport {
  std::vector<BatchItem> items;  // in the order of the file
  size_t failed = 0;
  std::chrono::milliseconds elapsed{0};
};

class BatchProvisioner {
 public:
  // Everything given must outlive the provisioner.
  BatchProvisioner(const barbican::ConnectionShare& share,
                   records::FileRecordStore& store,
                   Readers& readers,
                   std::vector<config::SecretKind> kinds);

  // Provisions every entry, `options.parallel` at a time, and reports each.
  // An entry without a region gets the connection's. Blocks until all are
  // done.
  BatchReport Run(const std::vector<BatchEntry>& entries,
                  const BatchOptions& options);

 private:
  BatchItem ProvisionOne(Provisioner& provisioner,
                         const BatchEntry& entry,
                         const BatchOptions& options);

  const barbican::ConnectionShare& share_;
  records::FileRecordStore& store_;
  Readers& readers_;
  std::vector<config::SecretKind> kinds_;
};

}  // namespace siq::provision
