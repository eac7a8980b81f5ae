#include "core/backup/manifest.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <system_error>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/backup/cms.h"
#include "core/base/failpoint.h"
#include "core/base/iso_time.h"
#include "core/base/log.h"
#include "core/records/store.h"

namespace siq::backup {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr char kNoPrevious[] =
    "0000000000000000000000000000000000000000000000000000000000000000";
constexpr std::chrono::seconds kLockWait{30};

std::shared_ptr<spdlog::logger> Logger() {
  static auto logger = log::Get("backup");
  return logger;
}

std::string PathIn(const std::string& dir, const std::string& file) {
  return (fs::path(dir) / file).string();
}

Result<std::optional<std::string>> ReadIfExists(const std::string& path) {
  std::error_code error;
  if (!fs::exists(path, error)) {
    return std::optional<std::string>();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status(StatusCode::kIoError,
                  fmt::format("reading {}: {}", path, std::strerror(errno)));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return std::optional<std::string>(text.str());
}

Status Corrupt(const std::string& path, std::string_view what) {
  return Status(StatusCode::kCorrupt, fmt::format("{}: {}", path, what));
}

Result<ManifestEntry> EntryFromJson(const std::string& path,
                                    size_t index,
                                    const json& doc) {
  ManifestEntry entry;
  std::pair<const char*, std::string*> fields[] = {
      {"file", &entry.file},     {"created_at", &entry.created_at},
      {"sha256", &entry.sha256}, {"previous", &entry.previous},
      {"chain", &entry.chain},   {"pruned_at", &entry.pruned_at}};
  if (!doc.is_object()) {
    return Corrupt(path, fmt::format("entries[{}]: not an object", index));
  }
  for (auto [name, target] : fields) {
    auto it = doc.find(name);
    bool optional = std::string_view(name) == "pruned_at";
    if (it == doc.end() || (optional && it->is_null())) {
      if (optional) {
        continue;
      }
      return Corrupt(path, fmt::format("entries[{}].{}: missing", index, name));
    }
    if (!it->is_string()) {
      return Corrupt(path,
                     fmt::format("entries[{}].{}: not a string", index, name));
    }
    *target = it->get<std::string>();
  }
  if (entry.file.find('/') != std::string::npos || entry.file.empty() ||
      entry.file[0] == '.') {
    return Corrupt(path, fmt::format("entries[{}].file: '{}' is not a bundle "
                                     "name in the directory",
                                     index, entry.file));
  }
  return entry;
}

json EntryToJson(const ManifestEntry& entry) {
  return {{"file", entry.file},
          {"created_at", entry.created_at},
          {"sha256", entry.sha256},
          {"previous", entry.previous},
          {"chain", entry.chain},
          {"pruned_at",
           entry.pruned_at.empty() ? json(nullptr) : json(entry.pruned_at)}};
}

Status WriteManifest(const std::string& dir, const Manifest& manifest) {
  json entries = json::array();
  for (const ManifestEntry& entry : manifest.entries) {
    entries.push_back(EntryToJson(entry));
  }
  json doc = {{"format", "siq-backup-manifest"},
              {"version", 1},
              {"entries", std::move(entries)}};
  return records::WriteFileAtomically(PathIn(dir, kManifestName),
                                      doc.dump(2) + "\n");
}

Status EnsureDirectory(const std::string& dir) {
  std::error_code error;
  if (fs::is_directory(dir, error)) {
    return OkStatus();
  }
  fs::create_directories(dir, error);
  if (!error) {
    fs::permissions(dir, fs::perms::owner_all, error);
  }
  if (error) {
    return Status(StatusCode::kIoError,
                  fmt::format("creating {}: {}", dir, error.message()));
  }
  return OkStatus();
}

// "2026-12-03T16:10:00Z" -> "siq-backup-20261203T161000Z.p7m", or with
// "-2", "-3" ... when a bundle of that second exists already.
std::string FreeBundleName(const std::string& dir,
                           const Manifest& manifest,
                           const std::string& created_at) {
  std::string stamp;
  for (char c : created_at) {
    if (c != '-' && c != ':') {
      stamp += c;
    }
  }
  std::set<std::string> listed;
  for (const ManifestEntry& entry : manifest.entries) {
    listed.insert(entry.file);
  }
  for (int n = 1;; ++n) {
    std::string name =
        fmt::format("{}{}{}{}", kBundlePrefix, stamp,
                    n == 1 ? "" : fmt::format("-{}", n), kBundleSuffix);
    std::error_code error;
    if (listed.count(name) == 0 && !fs::exists(PathIn(dir, name), error)) {
      return name;
    }
  }
}

// Marks the oldest kept entries pruned until `keep` remain; their paths.
std::vector<std::string> MarkPruned(const std::string& dir,
                                    Manifest& manifest,
                                    size_t keep,
                                    const std::string& now) {
  size_t kept = static_cast<size_t>(std::count_if(
      manifest.entries.begin(), manifest.entries.end(),
      [](const ManifestEntry& e) { return e.pruned_at.empty(); }));
  std::vector<std::string> pruned;
  for (ManifestEntry& entry : manifest.entries) {
    if (kept <= keep) {
      break;
    }
    if (entry.pruned_at.empty()) {
      entry.pruned_at = now;
      pruned.push_back(PathIn(dir, entry.file));
      --kept;
    }
  }
  return pruned;
}

bool IsBundleName(const std::string& name) {
  return name.starts_with(kBundlePrefix) && name.ends_with(kBundleSuffix);
}

void CheckChain(const Manifest& manifest, Verification& result) {
  std::string previous = kNoPrevious;
  bool seen_kept = false;
  for (size_t i = 0; i < manifest.entries.size(); ++i) {
    const ManifestEntry& entry = manifest.entries[i];
    if (entry.previous != previous) {
      result.problems.push_back(fmt::format(
          "manifest entry {} ({}) does not follow the entry before it: an "
          "entry was removed, inserted or reordered",
          i + 1, entry.file));
    }
    if (entry.chain !=
        ChainHash(entry.previous, entry.file, entry.created_at, entry.sha256)) {
      result.problems.push_back(
          fmt::format("manifest entry {} ({}) was edited: its chain hash "
                      "does not match its fields",
                      i + 1, entry.file));
    }
    if (!entry.pruned_at.empty() && seen_kept) {
      result.problems.push_back(fmt::format(
          "manifest entry {} ({}) is marked pruned although an older bundle "
          "is kept: --keep prunes the oldest only",
          i + 1, entry.file));
    }
    seen_kept = seen_kept || entry.pruned_at.empty();
    previous = entry.chain;
  }
  result.head = manifest.entries.empty() ? "" : manifest.entries.back().chain;
}

Status CheckBundles(const std::string& dir,
                    const Manifest& manifest,
                    Verification& result) {
  for (const ManifestEntry& entry : manifest.entries) {
    std::string path = PathIn(dir, entry.file);
    auto bytes = ReadIfExists(path);
    if (!bytes.ok()) {
      return bytes.status();
    }
    if (!entry.pruned_at.empty()) {
      ++result.pruned;
      continue;
    }
    if (!bytes->has_value()) {
      result.problems.push_back(fmt::format(
          "{}: removed: the manifest lists it and it was not pruned", path));
    } else if (Sha256Hex(**bytes) != entry.sha256) {
      result.problems.push_back(fmt::format(
          "{}: altered or replaced: its SHA-256 differs from the manifest's",
          path));
    } else {
      ++result.kept;
    }
  }
  return OkStatus();
}

Status CheckUnlisted(const std::string& dir,
                     const Manifest& manifest,
                     Verification& result) {
  std::set<std::string> listed;
  for (const ManifestEntry& entry : manifest.entries) {
    listed.insert(entry.file);
  }
  std::error_code error;
  std::vector<std::string> unlisted;
  for (const auto& item : fs::directory_iterator(dir, error)) {
    std::string name = item.path().filename().string();
    if (IsBundleName(name) && listed.count(name) == 0) {
      unlisted.push_back(name);
    }
  }
  if (error) {
    return Status(StatusCode::kIoError,
                  fmt::format("listing {}: {}", dir, error.message()));
  }
  std::sort(unlisted.begin(), unlisted.end());
  for (const std::string& name : unlisted) {
    result.problems.push_back(
        fmt::format("{}: not in the manifest: a bundle siq did not write here",
                    PathIn(dir, name)));
  }
  return OkStatus();
}

}  // namespace

std::string ChainHash(const std::string& previous,
                      const std::string& file,
                      const std::string& created_at,
                      const std::string& sha256) {
  // '\n' cannot occur in any field, so the joined text is unambiguous.
  return Sha256Hex(
      fmt::format("{}\n{}\n{}\n{}\n", previous, file, created_at, sha256));
}

Result<Manifest> ReadManifest(const std::string& dir) {
  std::string path = PathIn(dir, kManifestName);
  auto text = ReadIfExists(path);
  if (!text.ok()) {
    return text.status();
  }
  if (!text->has_value()) {
    return Manifest();
  }
  json doc = json::parse(**text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Corrupt(path, "not a JSON object");
  }
  if (doc.value("format", "") != "siq-backup-manifest" ||
      doc.value("version", 0) != 1) {
    return Corrupt(path, "format: not a siq backup manifest of version 1");
  }
  auto entries = doc.find("entries");
  if (entries == doc.end() || !entries->is_array()) {
    return Corrupt(path, "entries: missing or not a list");
  }
  Manifest manifest;
  for (size_t i = 0; i < entries->size(); ++i) {
    auto entry = EntryFromJson(path, i, (*entries)[i]);
    if (!entry.ok()) {
      return entry.status();
    }
    manifest.entries.push_back(std::move(*entry));
  }
  return manifest;
}

void AppendEntry(Manifest& manifest,
                 const std::string& file,
                 const std::string& created_at,
                 const std::string& sha256) {
  std::string previous = manifest.entries.empty()
                             ? std::string(kNoPrevious)
                             : manifest.entries.back().chain;
  std::string chain = ChainHash(previous, file, created_at, sha256);
  manifest.entries.push_back({.file = file,
                              .created_at = created_at,
                              .sha256 = sha256,
                              .previous = std::move(previous),
                              .chain = std::move(chain)});
}

std::optional<std::string> NewestBundle(const std::string& dir,
                                        const Manifest& manifest) {
  for (auto it = manifest.entries.rbegin(); it != manifest.entries.rend();
       ++it) {
    if (it->pruned_at.empty()) {
      return PathIn(dir, it->file);
    }
  }
  return std::nullopt;
}

Result<Written> WriteBundle(const std::string& dir,
                            std::string_view sealed,
                            TimePoint now,
                            size_t keep) {
  SIQ_RETURN_IF_ERROR(EnsureDirectory(dir));
  auto lock = records::AcquireFileLock(
      PathIn(dir, std::string(kManifestName) + ".lock"),
      std::chrono::duration_cast<std::chrono::milliseconds>(kLockWait));
  if (!lock.ok()) {
    return lock.status();
  }
  auto manifest = ReadManifest(dir);
  if (!manifest.ok()) {
    return manifest.status();
  }

  std::string created_at = FormatIso8601(now);
  std::string name = FreeBundleName(dir, *manifest, created_at);
  Written written{.path = PathIn(dir, name), .sha256 = Sha256Hex(sealed)};
  SIQ_RETURN_IF_ERROR(records::WriteFileAtomically(written.path, sealed));
  Failpoint("backup.bundle-unlisted");
  AppendEntry(*manifest, name, created_at, written.sha256);
  SIQ_RETURN_IF_ERROR(WriteManifest(dir, *manifest));
  Logger()->info("wrote {} ({} bytes, sha256 {})", written.path, sealed.size(),
                 written.sha256);

  if (keep == 0) {
    return written;
  }
  written.pruned = MarkPruned(dir, *manifest, keep, created_at);
  if (written.pruned.empty()) {
    return written;
  }
  SIQ_RETURN_IF_ERROR(WriteManifest(dir, *manifest));
  for (const std::string& path : written.pruned) {
    if (unlink(path.c_str()) != 0 && errno != ENOENT) {
      return Status(StatusCode::kIoError,
                    fmt::format("pruning {}: {}", path, std::strerror(errno)));
    }
    Logger()->info("pruned {}", path);
  }
  return written;
}

Result<Verification> Verify(const std::string& dir) {
  std::error_code error;
  if (!fs::is_directory(dir, error)) {
    return Status(StatusCode::kNotFound,
                  fmt::format("{}: no such backup directory", dir));
  }
  if (!fs::exists(PathIn(dir, kManifestName), error)) {
    return Status(StatusCode::kNotFound,
                  fmt::format("{}: no {}: nothing was backed up here", dir,
                              kManifestName));
  }
  auto manifest = ReadManifest(dir);
  if (!manifest.ok()) {
    return manifest.status();
  }
  Verification result;
  CheckChain(*manifest, result);
  SIQ_RETURN_IF_ERROR(CheckBundles(dir, *manifest, result));
  SIQ_RETURN_IF_ERROR(CheckUnlisted(dir, *manifest, result));
  return result;
}

}  // namespace siq::backup
