#include "core/provision/batch.h"

#include <algorithm>
#include <atomic>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/base/log.h"

namespace siq::provision {
namespace {

using nlohmann::json;

constexpr size_t kMostErrorsShown = 20;
constexpr std::string_view kFields[] = {"vps", "org", "env", "region",
                                        "reader"};

std::string_view Trim(std::string_view text) {
  size_t begin = text.find_first_not_of(" \t\r");
  if (begin == std::string_view::npos) {
    return {};
  }
  size_t end = text.find_last_not_of(" \t\r");
  return text.substr(begin, end - begin + 1);
}

bool IsKnownField(std::string_view name) {
  for (std::string_view field : kFields) {
    if (field == name) {
      return true;
    }
  }
  return false;
}

// The lines of `text` that carry data, with their numbers (from 1).
std::vector<std::pair<int, std::string_view>> DataLines(std::string_view text) {
  std::vector<std::pair<int, std::string_view>> lines;
  int number = 0;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    ++number;
    std::string_view content = Trim(line);
    if (!content.empty() && content.front() != '#') {
      lines.emplace_back(number, content);
    }
  }
  return lines;
}

// Collects the errors of a whole file, each naming its line.
class Problems {
 public:
  explicit Problems(std::string_view file) : file_(file) {}

  void Add(int line, std::string_view what) {
    ++count_;
    if (count_ <= kMostErrorsShown) {
      lines_.push_back(fmt::format("{}:{}: {}", file_, line, what));
    }
  }
  bool empty() const { return count_ == 0; }
  Status ToStatus() const {
    std::string message = fmt::format(
        "{} has {} bad line{}, nothing was "
        "provisioned",
        file_, count_, count_ == 1 ? "" : "s");
    for (const std::string& line : lines_) {
      message += "\n  " + line;
    }
    if (count_ > lines_.size()) {
      message += fmt::format("\n  ... and {} more", count_ - lines_.size());
    }
    return Status(StatusCode::kInvalidArgument, message);
  }

 private:
  std::string file_;
  size_t count_ = 0;
  std::vector<std::string> lines_;
};

// Turns the fields of one line into an entry, or says what is wrong.
Result<BatchEntry> EntryFrom(int line,
                             const std::map<std::string, std::string>& fields) {
  for (const char* required : {"vps", "org", "reader"}) {
    auto it = fields.find(required);
    if (it == fields.end() || it->second.empty()) {
      return Status(StatusCode::kInvalidArgument,
                    fmt::format("{}: missing", required));
    }
  }
  auto vps = records::VpsId::Parse(fields.at("vps"));
  if (!vps.ok()) {
    return vps.status().WithContext("vps");
  }
  BatchEntry entry{.line = line, .request = {.vps = *vps}};
  Request& request = entry.request;
  request.organization = fields.at("org");
  if (auto env = fields.find("env");
      env != fields.end() && !env->second.empty()) {
    request.environment = env->second;
  }
  if (auto region = fields.find("region"); region != fields.end()) {
    request.region = region->second;
  }
  request.reader = {.mode = ReaderChoice::Mode::kExisting,
                    .user = fields.at("reader")};
  return entry;
}

std::vector<std::string_view> SplitCsv(std::string_view line) {
  std::vector<std::string_view> fields;
  while (true) {
    size_t comma = line.find(',');
    fields.push_back(Trim(line.substr(0, comma)));
    if (comma == std::string_view::npos) {
      return fields;
    }
    line.remove_prefix(comma + 1);
  }
}

// The header's columns, or the problem with it.
Result<std::vector<std::string>> CsvHeader(std::string_view line) {
  std::vector<std::string> columns;
  for (std::string_view name : SplitCsv(line)) {
    if (!IsKnownField(name)) {
      return Status(StatusCode::kInvalidArgument,
                    fmt::format("header: unknown column '{}' (known: vps, "
                                "org, env, region, reader)",
                                name));
    }
    if (std::find(columns.begin(), columns.end(), name) != columns.end()) {
      return Status(StatusCode::kInvalidArgument,
                    fmt::format("header: column '{}' twice", name));
    }
    columns.emplace_back(name);
  }
  for (const char* required : {"vps", "org", "reader"}) {
    if (std::find(columns.begin(), columns.end(), required) == columns.end()) {
      return Status(StatusCode::kInvalidArgument,
                    fmt::format("header: no column '{}'", required));
    }
  }
  return columns;
}

Result<std::map<std::string, std::string>> CsvRow(
    const std::vector<std::string>& columns,
    std::string_view line) {
  if (line.find('"') != std::string_view::npos) {
    return Status(StatusCode::kInvalidArgument,
                  "quoted fields are not supported (no field needs quotes)");
  }
  std::vector<std::string_view> values = SplitCsv(line);
  if (values.size() != columns.size()) {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("{} fields, the header has {}", values.size(),
                              columns.size()));
  }
  std::map<std::string, std::string> fields;
  for (size_t i = 0; i < columns.size(); ++i) {
    fields[columns[i]] = std::string(values[i]);
  }
  return fields;
}

Result<std::map<std::string, std::string>> JsonRow(std::string_view line) {
  json object;
  try {
    object = json::parse(line);
  } catch (const json::exception& e) {
    std::string_view what = e.what();
    return Status(
        StatusCode::kInvalidArgument,
        fmt::format("not valid JSON: {}", what.substr(what.find(']') + 2)));
  }
  if (!object.is_object()) {
    return Status(StatusCode::kInvalidArgument, "not a JSON object");
  }
  std::map<std::string, std::string> fields;
  for (const auto& [key, value] : object.items()) {
    if (!IsKnownField(key)) {
      return Status(StatusCode::kInvalidArgument,
                    fmt::format("{}: unknown field (known: vps, org, env, "
                                "region, reader)",
                                key));
    }
    if (!value.is_string()) {
      return Status(StatusCode::kInvalidArgument,
                    fmt::format("{}: not a string", key));
    }
    fields[key] = value.get<std::string>();
  }
  return fields;
}

}  // namespace

Result<std::vector<BatchEntry>> ParseBatch(std::string_view text,
                                           std::string_view file) {
  auto lines = DataLines(text);
  if (lines.empty()) {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("{}: no VPS listed", file));
  }
  bool json_lines = lines.front().second.front() == '{';
  std::vector<std::string> columns;
  if (!json_lines) {
    auto header = CsvHeader(lines.front().second);
    if (!header.ok()) {
      return Status(StatusCode::kInvalidArgument,
                    fmt::format("{}:{}: {}", file, lines.front().first,
                                header.status().message()));
    }
    columns = std::move(*header);
    lines.erase(lines.begin());
  }

  Problems problems(file);
  std::vector<BatchEntry> entries;
  std::map<std::string, int> seen;  // VPS id -> line
  for (const auto& [number, line] : lines) {
    auto fields = json_lines ? JsonRow(line) : CsvRow(columns, line);
    auto entry = fields.ok() ? EntryFrom(number, *fields)
                             : Result<BatchEntry>(fields.status());
    if (!entry.ok()) {
      problems.Add(number, entry.status().message());
      continue;
    }
    auto [it, added] = seen.emplace(entry->request.vps.str(), number);
    if (!added) {
      problems.Add(number, fmt::format("vps: {} is already on line {}",
                                       it->first, it->second));
      continue;
    }
    entries.push_back(std::move(*entry));
  }
  if (!problems.empty()) {
    return problems.ToStatus();
  }
  if (entries.empty()) {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("{}: no VPS listed", file));
  }
  return entries;
}

Result<std::vector<BatchEntry>> ReadBatchFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status(StatusCode::kIoError,
                  fmt::format("reading batch file {}: cannot open it", path));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return Status(StatusCode::kIoError,
                  fmt::format("reading batch file {}: read error", path));
  }
  return ParseBatch(text.str(), path);
}

BatchProvisioner::BatchProvisioner(const barbican::ConnectionShare& share,
                                   records::FileRecordStore& store,
                                   Readers& readers,
                                   std::vector<config::SecretKind> kinds)
    : share_(share),
      store_(store),
      readers_(readers),
      kinds_(std::move(kinds)) {}

BatchItem BatchProvisioner::ProvisionOne(Provisioner& provisioner,
                                         const BatchEntry& entry,
                                         const BatchOptions& options) {
  Request request = entry.request;
  BatchItem item{.line = entry.line, .vps = request.vps};
  if (request.region.empty()) {
    request.region = share_.config().region_name;
  }
  auto start = std::chrono::steady_clock::now();

  // One provisioning per VPS at a time, as for a single `siq provision`.
  auto lock = store_.LockFor(fmt::format(".{}.lock", request.vps.str()),
                             options.lock_wait);
  auto report = lock.ok() ? provisioner.Run(request, DryRun::kNo)
                          : Result<Report>(lock.status());
  if (report.ok()) {
    item.outcome = report->outcome;
    item.container_ref = report->deployment.container_ref;
  } else {
    item.status = report.status();
    log::Get("provision")
        ->info("{}: {}", request.vps.str(), item.status.message());
  }
  item.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  return item;
}

BatchReport BatchProvisioner::Run(const std::vector<BatchEntry>& entries,
                                  const BatchOptions& options) {
  auto start = std::chrono::steady_clock::now();
  BatchReport report;
  for (const BatchEntry& entry : entries) {
    report.items.push_back({.line = entry.line, .vps = entry.request.vps});
  }
  std::atomic<size_t> next{0};
  std::mutex progress_mutex;
  BatchProgress progress{.total = entries.size()};

  auto work = [&] {
    std::unique_ptr<barbican::Connection> connection = share_.Connect();
    Provisioner provisioner(connection->barbican(), store_, readers_, kinds_);
    for (size_t i = next++; i < entries.size(); i = next++) {
      BatchItem item = ProvisionOne(provisioner, entries[i], options);
      std::lock_guard lock(progress_mutex);
      ++progress.done;
      progress.failed += item.status.ok() ? 0 : 1;
      report.items[i] = std::move(item);
      if (options.progress) {
        options.progress(progress);
      }
    }
  };

  size_t threads = std::min(entries.size(),
                            static_cast<size_t>(std::max(1, options.parallel)));
  std::vector<std::thread> workers;
  for (size_t i = 1; i < threads; ++i) {
    workers.emplace_back(work);
  }
  work();  // the calling thread is one of the workers
  for (std::thread& worker : workers) {
    worker.join();
  }

  report.failed = progress.failed;
  report.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  return report;
}

}  // namespace siq::provision
