#include "core/records/store.h"

#include <fcntl.h>
#include <simdjson.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <new>
#include <system_error>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/base/iso_time.h"
#include "core/base/log.h"

namespace siq::records {
namespace {

using nlohmann::json;
using Records = std::map<VpsId, Deployment>;

constexpr mode_t kFileMode = 0600;
constexpr std::chrono::milliseconds kFirstLockPause{1};
constexpr std::chrono::milliseconds kLongestLockPause{50};

std::shared_ptr<spdlog::logger> Logger() {
  static auto logger = log::Get("records");
  return logger;
}

// The system's reason for the last failed call, in a status that names what
// siq was doing.
Status ErrnoStatus(std::string_view doing, std::string_view path) {
  std::string reason =
      std::error_code(errno, std::generic_category()).message();
  return Status(StatusCode::kIoError,
                fmt::format("{} {}: {}", doing, path, reason));
}

Status Corrupt(std::string_view path, std::string_view what) {
  return Status(StatusCode::kCorrupt, fmt::format("{}: {}", path, what));
}

std::string FormatWait(std::chrono::milliseconds wait) {
  if (wait.count() % 1000 == 0) {
    return FormatDuration(std::chrono::seconds(wait.count() / 1000));
  }
  return fmt::format("{}ms", wait.count());
}

std::string ParentDirectory(const std::string& path) {
  std::string parent = std::filesystem::path(path).parent_path();
  return parent.empty() ? "." : parent;
}

// Closes its file descriptor when it goes out of scope.
class UniqueFd {
 public:
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() {
    if (fd_ >= 0) {
      close(fd_);
    }
  }

  int get() const { return fd_; }
  // Closes now, reporting what close(2) said: on some file systems the
  // write error only shows here.
  int Close() {
    int result = close(fd_);
    fd_ = -1;
    return result;
  }

 private:
  int fd_;
};

// The content of `path`, or nothing when there is no such file.
Result<std::optional<std::string>> ReadFileIfExists(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) {
      return std::optional<std::string>();
    }
    return ErrnoStatus("reading", path);
  }

  std::string content;
  char buffer[64 * 1024];
  while (true) {
    ssize_t count = read(fd.get(), buffer, sizeof(buffer));
    if (count < 0 && errno == EINTR) {
      continue;
    }
    if (count < 0) {
      return ErrnoStatus("reading", path);
    }
    if (count == 0) {
      return std::optional<std::string>(std::move(content));
    }
    content.append(buffer, static_cast<size_t>(count));
  }
}

// nlohmann reports the byte offset of the character it stopped at (counting
// from 1); people look for a line and a column.
std::string LineAndColumn(std::string_view text, size_t byte) {
  std::string_view before = text.substr(0, byte > 0 ? byte - 1 : 0);
  size_t line =
      1 + static_cast<size_t>(std::count(before.begin(), before.end(), '\n'));
  size_t line_start = before.rfind('\n');
  size_t column = line_start == std::string_view::npos
                      ? before.size() + 1
                      : before.size() - line_start;
  return fmt::format("line {}, column {}", line, column);
}

Result<json> ParseJson(const std::string& path, const std::string& text) {
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    return Corrupt(path, fmt::format("not valid JSON: error at {}",
                                     LineAndColumn(text, e.byte)));
  } catch (const json::exception& e) {
    // A number too large for a double ("1e500") is nlohmann's out_of_range,
    // which carries no position; its text names the number.
    std::string_view what = e.what();
    return Corrupt(path, fmt::format("not valid JSON: {}",
                                     what.substr(what.find(']') + 2)));
  }
}

Status CheckSchemaVersion(const std::string& path,
                          const json& root,
                          int expected = kDocumentSchemaVersion) {
  auto version = root.find("schema_version");
  if (version == root.end()) {
    return Corrupt(path, "schema_version: missing");
  }
  if (!version->is_number_integer()) {
    return Corrupt(path, "schema_version: not a whole number");
  }
  if (*version != expected) {
    return Corrupt(path, fmt::format("schema_version is {}, and this siq "
                                     "reads schema_version {} only",
                                     version->dump(), expected));
  }
  return OkStatus();
}

Result<Deployment> ParseRecord(const std::string& path,
                               const std::string& key,
                               const json& doc) {
  std::string record_path = fmt::format("deployments.{}", key);
  Result<VpsId> vps = VpsId::Parse(key);
  if (!vps.ok()) {
    return Corrupt(path,
                   fmt::format("{}: {}", record_path, vps.status().message()));
  }
  Result<Deployment> deployment = DeploymentFromJson(doc, record_path);
  if (!deployment.ok()) {
    return Corrupt(path, deployment.status().message());
  }
  if (deployment->vps != *vps) {
    return Corrupt(path, fmt::format("{}.vps: '{}' differs from its key",
                                     record_path, deployment->vps.str()));
  }
  return deployment;
}

Result<Records> ParseRecords(const std::string& path, const std::string& text) {
  Result<json> root = ParseJson(path, text);
  if (!root.ok()) {
    return root.status();
  }
  if (!root->is_object()) {
    return Corrupt(path, "not a JSON object");
  }
  SIQ_RETURN_IF_ERROR(CheckSchemaVersion(path, *root));

  for (const auto& item : root->items()) {
    if (item.key() != "schema_version" && item.key() != "deployments") {
      return Corrupt(path, fmt::format("{}: unknown field", item.key()));
    }
  }
  auto deployments = root->find("deployments");
  if (deployments == root->end()) {
    return Corrupt(path, "deployments: missing");
  }
  if (!deployments->is_object()) {
    return Corrupt(path, "deployments: not an object");
  }

  Records records;
  for (const auto& item : deployments->items()) {
    Result<Deployment> deployment = ParseRecord(path, item.key(), item.value());
    if (!deployment.ok()) {
      return deployment.status();
    }
    VpsId vps = deployment->vps;
    records.emplace(std::move(vps), std::move(deployment).value());
  }
  return records;
}

// The lines layout: a header line, then one compact record per line in
// the order of VPS ids.
Result<std::string> Serialize(const std::string& path, const Records& records) {
  std::string bytes = json{{"schema_version", kRecordSchemaVersion}}.dump();
  bytes += '\n';
  try {
    for (const auto& [vps, deployment] : records) {
      bytes += ToJson(deployment).dump();
      bytes += '\n';
    }
  } catch (const json::type_error&) {
    // Text from a flag may be any bytes; JSON holds UTF-8 only.
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("writing {}: a record holds text that is not "
                              "valid UTF-8",
                              path));
  }
  return bytes;
}

Status CheckDirectoryExists(const std::string& path) {
  std::string directory = ParentDirectory(path);
  struct stat info = {};
  if (stat(directory.c_str(), &info) != 0) {
    return ErrnoStatus(fmt::format("writing {}: directory", path), directory);
  }
  if (!S_ISDIR(info.st_mode)) {
    return Status(
        StatusCode::kIoError,
        fmt::format("writing {}: {} is not a directory", path, directory));
  }
  return OkStatus();
}

Status WriteAll(int fd, const std::string& path, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t count = write(fd, bytes.data(), bytes.size());
    if (count < 0 && errno == EINTR) {
      continue;
    }
    if (count < 0) {
      return ErrnoStatus("writing", path);
    }
    bytes.remove_prefix(static_cast<size_t>(count));
  }
  return OkStatus();
}

// Fills a new temporary file and makes it durable. fchmod, because the mode
// given at creation passes through the umask, and the record file must be
// 0600 exactly, whatever the umask of the process.
Status FillTemporaryFile(UniqueFd& fd,
                         const std::string& temp,
                         std::string_view bytes) {
  if (fchmod(fd.get(), kFileMode) != 0) {
    return ErrnoStatus("setting the mode of", temp);
  }
  SIQ_RETURN_IF_ERROR(WriteAll(fd.get(), temp, bytes));
  if (fsync(fd.get()) != 0) {
    return ErrnoStatus("syncing", temp);
  }
  if (fd.Close() != 0) {
    return ErrnoStatus("closing", temp);
  }
  return OkStatus();
}

// The rename is only durable once the directory that holds the new name is.
Status SyncDirectory(const std::string& directory) {
  UniqueFd fd(open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) {
    return ErrnoStatus("opening directory", directory);
  }
  if (fsync(fd.get()) != 0) {
    return ErrnoStatus("syncing directory", directory);
  }
  return OkStatus();
}

// Replaces `path` by a file holding `bytes`: readers and a crash see either
// the old file or the new one, whole.
Status WriteAtomically(const std::string& path, std::string_view bytes) {
  // mkostemp creates the file with O_CREAT | O_EXCL and mode 0600, so no
  // other process can open it and it is never readable by others.
  std::string temp = path + ".tmp-XXXXXX";
  UniqueFd fd(mkostemp(temp.data(), O_CLOEXEC));
  if (fd.get() < 0) {
    return ErrnoStatus("creating a temporary file for", path);
  }

  Status written = FillTemporaryFile(fd, temp, bytes);
  if (written.ok() && rename(temp.c_str(), path.c_str()) != 0) {
    written = ErrnoStatus("replacing", path);
  }
  if (!written.ok()) {
    unlink(temp.c_str());
    return written;
  }

  return SyncDirectory(ParentDirectory(path));
}

// Puts what a change left into `records`.
Status Store(const VpsId& vps,
             std::optional<Deployment> record,
             Records& records) {
  if (!record) {
    records.erase(vps);
    return OkStatus();
  }
  if (record->vps != vps) {
    return Status(StatusCode::kInternal,
                  fmt::format("the change to the record of {} left the record "
                              "of {}",
                              vps.str(), record->vps.str()));
  }
  records.insert_or_assign(vps, std::move(*record));
  return OkStatus();
}

// Thrown out of nlohmann's parser callback to stop a walk; carries why.
struct StopWalk {
  Status status;
};

// Where the streaming parser is in the document:
// {"schema_version": 1, "deployments": {"<vps>": {<record>}, ...}}.
class RecordWalker {
 public:
  RecordWalker(const std::string& path, const RecordStore::Visit& visit)
      : path_(path), visit_(visit) {}

  // nlohmann's parser callback: keeps the top level, and hands each record
  // to Visit as soon as it is complete, then drops it.
  bool operator()(int depth, json::parse_event_t event, json& parsed) {
    using Event = json::parse_event_t;
    if (depth == 1 && event == Event::key) {
      top_key_ = parsed.get<std::string>();
    } else if (depth == 1 && top_key_ == "deployments") {
      if (event == Event::object_start) {
        in_records_ = true;
      } else if (event == Event::object_end) {
        in_records_ = false;
      }
    } else if (depth == 2 && in_records_) {
      if (event == Event::key) {
        record_key_ = parsed.get<std::string>();
      } else if (event == Event::object_end || event == Event::array_end ||
                 event == Event::value) {
        Visit(parsed);
        return false;
      }
    }
    return true;
  }

  size_t visited() const { return visited_; }

 private:
  void Visit(const json& doc) {
    Result<Deployment> record = ParseRecord(path_, record_key_, doc);
    if (!record.ok()) {
      throw StopWalk{record.status()};
    }
    if (Status status = visit_(*record); !status.ok()) {
      throw StopWalk{std::move(status)};
    }
    ++visited_;
  }

  const std::string& path_;
  const RecordStore::Visit& visit_;
  std::string top_key_;
  std::string record_key_;
  bool in_records_ = false;
  size_t visited_ = 0;
};

// The top level of the file, checked as ParseRecords checks it; the
// records themselves were dropped by the walker.
Status CheckTopLevel(const std::string& path, const json& root) {
  if (!root.is_object()) {
    return Corrupt(path, "not a JSON object");
  }
  SIQ_RETURN_IF_ERROR(CheckSchemaVersion(path, root));
  for (const auto& item : root.items()) {
    if (item.key() != "schema_version" && item.key() != "deployments") {
      return Corrupt(path, fmt::format("{}: unknown field", item.key()));
    }
  }
  auto deployments = root.find("deployments");
  if (deployments == root.end()) {
    return Corrupt(path, "deployments: missing");
  }
  if (!deployments->is_object()) {
    return Corrupt(path, "deployments: not an object");
  }
  return OkStatus();
}

// The line and column of byte `byte` of the file, read again for the
// error message only.
std::string FilePosition(const std::string& path, size_t byte) {
  std::ifstream in(path, std::ios::binary);
  std::string prefix(byte, '\0');
  in.read(prefix.data(), static_cast<std::streamsize>(byte));
  prefix.resize(static_cast<size_t>(in.gcount()));
  return LineAndColumn(prefix, byte);
}

// Reads a file descriptor in large blocks for nlohmann's parser, one
// character at a time through ReadIterator. A read error ends the input
// early and is kept for the caller to report.
class BlockReader {
 public:
  explicit BlockReader(int fd) : fd_(fd), buffer_(1 << 20) { Fill(); }

  bool AtEnd() const { return position_ == length_; }
  char Current() const { return buffer_[position_]; }
  void Advance() {
    if (++position_ == length_) {
      Fill();
    }
  }
  int error() const { return error_; }

 private:
  void Fill() {
    position_ = 0;
    length_ = 0;
    while (true) {
      ssize_t count = read(fd_, buffer_.data(), buffer_.size());
      if (count < 0 && errno == EINTR) {
        continue;
      }
      if (count < 0) {
        error_ = errno;
        return;
      }
      length_ = static_cast<size_t>(count);
      return;
    }
  }

  int fd_;
  std::vector<char> buffer_;
  size_t position_ = 0;
  size_t length_ = 0;
  int error_ = 0;
};

// A single-pass input iterator over a BlockReader; the default-constructed
// one is the end.
class ReadIterator {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = char;

  ReadIterator() = default;
  explicit ReadIterator(BlockReader* reader) : reader_(reader) {}

  char operator*() const { return reader_->Current(); }
  ReadIterator& operator++() {
    reader_->Advance();
    return *this;
  }
  bool operator==(const ReadIterator& other) const {
    return AtEnd() == other.AtEnd();
  }
  bool operator!=(const ReadIterator& other) const { return !(*this == other); }

 private:
  bool AtEnd() const { return reader_ == nullptr || reader_->AtEnd(); }

  BlockReader* reader_ = nullptr;
};

// Streams a file of the document layout through `visit`.
Status WalkDocument(const std::string& path, const RecordStore::Visit& visit) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) {
      Logger()->debug("{} does not exist yet: no records", path);
      return OkStatus();
    }
    return ErrnoStatus("reading", path);
  }

  BlockReader reader(fd.get());
  RecordWalker walker(path, visit);
  json root;
  try {
    root = json::parse(ReadIterator(&reader), ReadIterator(), std::ref(walker));
  } catch (StopWalk& stop) {
    return std::move(stop.status);
  } catch (const json::parse_error& e) {
    if (reader.error() != 0) {
      errno = reader.error();
      return ErrnoStatus("reading", path);
    }
    return Corrupt(path, fmt::format("not valid JSON: error at {}",
                                     FilePosition(path, e.byte)));
  } catch (const json::exception& e) {
    std::string_view what = e.what();
    return Corrupt(path, fmt::format("not valid JSON: {}",
                                     what.substr(what.find(']') + 2)));
  }
  if (reader.error() != 0) {
    errno = reader.error();
    return ErrnoStatus("reading", path);
  }
  SIQ_RETURN_IF_ERROR(CheckTopLevel(path, root));
  Logger()->debug("walked {}: {} records", path, walker.visited());
  return OkStatus();
}

// A file read one line at a time, each line held in a buffer padded for
// simdjson. Not for sharing between threads.
class LineFile {
 public:
  explicit LineFile(FILE* file) : file_(file, &std::fclose) {}

  // The next line without its '\n', or nothing at the end of the file.
  // Fails with kIoError naming `path` when reading fails.
  Result<std::optional<std::string_view>> Next(const std::string& path) {
    errno = 0;
    ssize_t length = getline(&buffer_.data, &buffer_.capacity, file_.get());
    if (length < 0) {
      if (std::ferror(file_.get()) != 0) {
        return ErrnoStatus("reading", path);
      }
      return std::optional<std::string_view>();
    }
    ++number_;
    auto size = static_cast<size_t>(length);
    if (size > 0 && buffer_.data[size - 1] == '\n') {
      --size;
    }
    Reserve(size + simdjson::SIMDJSON_PADDING);
    return std::optional<std::string_view>(
        std::string_view(buffer_.data, size));
  }

  // The number of the line Next returned last, counting from 1.
  size_t number() const { return number_; }

  // Back to the first line.
  void Rewind() {
    std::rewind(file_.get());
    number_ = 0;
  }

 private:
  // getline's buffer, which it grows with realloc(3).
  struct Buffer {
    Buffer() = default;
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;
    ~Buffer() { std::free(data); }  // NOLINT(cppcoreguidelines-no-malloc)
    char* data = nullptr;
    size_t capacity = 0;
  };

  // simdjson reads up to SIMDJSON_PADDING bytes past the end of its input.
  void Reserve(size_t size) {
    if (buffer_.capacity < size) {
      // NOLINTNEXTLINE(cppcoreguidelines-no-malloc)
      void* grown = std::realloc(buffer_.data, size);
      if (grown == nullptr) {
        throw std::bad_alloc();
      }
      buffer_.data = static_cast<char*>(grown);
      buffer_.capacity = size;
    }
  }

  std::unique_ptr<FILE, decltype(&std::fclose)> file_;
  Buffer buffer_;
  size_t number_ = 0;
};

// simdjson's parse, in the form nlohmann's parse would have given.
json ToNlohmann(simdjson::dom::element element) {
  using simdjson::dom::element_type;
  switch (element.type()) {
    case element_type::OBJECT: {
      json object = json::object();
      for (simdjson::dom::key_value_pair field : element.get_object()) {
        object[std::string(field.key)] = ToNlohmann(field.value);
      }
      return object;
    }
    case element_type::ARRAY: {
      json array = json::array();
      for (simdjson::dom::element item : element.get_array()) {
        array.push_back(ToNlohmann(item));
      }
      return array;
    }
    case element_type::STRING:
      return std::string(element.get_string().value_unsafe());
    case element_type::INT64: {
      int64_t value = element.get_int64().value_unsafe();
      // nlohmann keeps every non-negative whole number unsigned.
      return value >= 0 ? json(static_cast<uint64_t>(value)) : json(value);
    }
    case element_type::UINT64:
      return element.get_uint64().value_unsafe();
    case element_type::DOUBLE:
      return element.get_double().value_unsafe();
    case element_type::BOOL:
      return element.get_bool().value_unsafe();
    case element_type::NULL_VALUE:
      return nullptr;
  }
  return nullptr;
}

// One line as JSON. simdjson parses well-formed lines fast (its DOM parser
// picks the AVX2 kernel at run time); a line it refuses goes through
// nlohmann, whose errors name the column.
Result<json> ParseLine(const std::string& path,
                       size_t number,
                       std::string_view line,
                       simdjson::dom::parser& parser) {
  simdjson::dom::element element;
  if (parser.parse(line.data(), line.size(), false).get(element) ==
      simdjson::SUCCESS) {
    return ToNlohmann(element);
  }
  try {
    return json::parse(line);
  } catch (const json::parse_error& e) {
    return Corrupt(path, fmt::format("not valid JSON: error at line {}, "
                                     "column {}",
                                     number, e.byte));
  } catch (const json::exception& e) {
    std::string_view what = e.what();
    return Corrupt(path, fmt::format("line {}: not valid JSON: {}", number,
                                     what.substr(what.find(']') + 2)));
  }
}

// The first line, when it is the header of the lines layout: a JSON object
// without "deployments". Anything else is read as the document layout.
bool IsLinesHeader(std::string_view line) {
  json header = json::parse(line, nullptr, false);
  return header.is_object() && !header.contains("deployments");
}

Status CheckLinesHeader(const std::string& path, std::string_view line) {
  json header = json::parse(line);
  for (const auto& item : header.items()) {
    if (item.key() != "schema_version") {
      return Corrupt(path,
                     fmt::format("line 1: {}: unknown field", item.key()));
    }
  }
  Status version = CheckSchemaVersion(path, header, kRecordSchemaVersion);
  if (!version.ok()) {
    return Corrupt(
        path,
        fmt::format("line 1: {}", version.message().substr(path.size() + 2)));
  }
  return OkStatus();
}

// A record line, checked as strictly as the document layout checks its
// records; errors name the line and the record's JSON path.
Result<Deployment> ParseRecordLine(const std::string& path,
                                   size_t number,
                                   std::string_view line,
                                   simdjson::dom::parser& parser) {
  Result<json> doc = ParseLine(path, number, line, parser);
  if (!doc.ok()) {
    return doc.status();
  }
  std::string record_path = "record";
  if (auto vps = doc->find("vps");
      doc->is_object() && vps != doc->end() && vps->is_string()) {
    record_path = fmt::format("deployments.{}", vps->get<std::string>());
  }
  Result<Deployment> record = DeploymentFromJson(*doc, record_path);
  if (!record.ok()) {
    return Corrupt(
        path, fmt::format("line {}: {}", number, record.status().message()));
  }
  return record;
}

// Visits the records after the header, each once and in VPS-id order: the
// order is checked as the records pass, so no set of ids is kept.
Status WalkLines(const std::string& path,
                 LineFile& file,
                 const RecordStore::Visit& visit) {
  simdjson::dom::parser parser;
  std::optional<VpsId> last;
  size_t visited = 0;
  while (true) {
    Result<std::optional<std::string_view>> line = file.Next(path);
    if (!line.ok()) {
      return line.status();
    }
    if (!line->has_value()) {
      break;
    }
    Result<Deployment> record =
        ParseRecordLine(path, file.number(), **line, parser);
    if (!record.ok()) {
      return record.status();
    }
    if (last && !(*last < record->vps)) {
      return Corrupt(
          path, fmt::format("line {}: the record of {} follows "
                            "that of {}: records are sorted by "
                            "VPS id, one per VPS",
                            file.number(), record->vps.str(), last->str()));
    }
    last = record->vps;
    SIQ_RETURN_IF_ERROR(visit(*record));
    ++visited;
  }
  Logger()->debug("walked {}: {} records", path, visited);
  return OkStatus();
}

// Opens `path` for reading: null when there is no such file.
Result<std::unique_ptr<LineFile>> OpenLines(const std::string& path) {
  FILE* file = std::fopen(path.c_str(), "re");
  if (file == nullptr) {
    if (errno == ENOENT) {
      Logger()->debug("{} does not exist yet: no records", path);
      return std::unique_ptr<LineFile>();
    }
    return ErrnoStatus("reading", path);
  }
  return std::make_unique<LineFile>(file);
}

// Whether `file` holds the lines layout, its header checked; reads the
// first line. The document layout is reported in the log, once per read.
Result<bool> ReadHeader(const std::string& path, LineFile& file) {
  Result<std::optional<std::string_view>> first = file.Next(path);
  if (!first.ok()) {
    return first.status();
  }
  if (first->has_value() && IsLinesHeader(**first)) {
    SIQ_RETURN_IF_ERROR(CheckLinesHeader(path, **first));
    return true;
  }
  Logger()->info(
      "{} has the layout of schema_version {}; the next change "
      "rewrites it as schema_version {}",
      path, kDocumentSchemaVersion, kRecordSchemaVersion);
  return false;
}

// Streams the file at `path` through `visit`; see FileRecordStore::ForEach.
Status WalkRecords(const std::string& path, const RecordStore::Visit& visit) {
  Result<std::unique_ptr<LineFile>> file = OpenLines(path);
  if (!file.ok()) {
    return file.status();
  }
  if (*file == nullptr) {
    return OkStatus();
  }
  Result<bool> lines = ReadHeader(path, **file);
  if (!lines.ok()) {
    return lines.status();
  }
  if (*lines) {
    return WalkLines(path, **file, visit);
  }
  return WalkDocument(path, visit);
}

// Every record in the file; none when there is no file yet.
Result<Records> ReadRecords(const std::string& path) {
  Result<std::unique_ptr<LineFile>> file = OpenLines(path);
  if (!file.ok()) {
    return file.status();
  }
  if (*file == nullptr) {
    return Records();
  }
  Result<bool> lines = ReadHeader(path, **file);
  if (!lines.ok()) {
    return lines.status();
  }

  if (*lines) {
    Records records;
    SIQ_RETURN_IF_ERROR(WalkLines(path, **file, [&](const Deployment& record) {
      records.emplace_hint(records.end(), record.vps, record);
      return OkStatus();
    }));
    return records;
  }

  Result<std::optional<std::string>> text = ReadFileIfExists(path);
  if (!text.ok()) {
    return text.status();
  }
  if (!text->has_value()) {
    return Records();
  }
  Result<Records> records = ParseRecords(path, **text);
  if (records.ok()) {
    Logger()->debug("read {}: {} records, {} bytes", path, records->size(),
                    (*text)->size());
  }
  return records;
}

}  // namespace

FileLock::FileLock(FileLock&& other) noexcept
    : path_(std::move(other.path_)), fd_(std::exchange(other.fd_, -1)) {}

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    FileLock old(std::move(*this));
    path_ = std::move(other.path_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

FileLock::~FileLock() {
  if (fd_ >= 0) {
    // Closing drops the lock too, unless a forked child shares the open
    // file; unlocking first releases it for the child as well.
    flock(fd_, LOCK_UN);
    close(fd_);
  }
}

Result<FileLock> AcquireFileLock(const std::string& path,
                                 std::chrono::milliseconds wait,
                                 Clock& clock) {
  int fd = open(path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
                kFileMode);
  if (fd < 0) {
    return ErrnoStatus("opening lock file", path);
  }
  FileLock lock(path, fd);
  // Best effort against a strict umask; a lock file of another owner keeps
  // its mode, and holds no data either way.
  (void)fchmod(fd, kFileMode);

  const TimePoint start = clock.Now();
  std::chrono::milliseconds pause = kFirstLockPause;
  while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) {
      continue;
    }
    if (errno != EWOULDBLOCK) {
      return ErrnoStatus("locking", path);
    }
    auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
        clock.Now() - start);
    if (waited >= wait) {
      return Status(StatusCode::kLocked,
                    fmt::format("{} is locked by another siq process "
                                "(waited {})",
                                path, FormatWait(wait)));
    }
    clock.SleepFor(std::min(pause, wait - waited));
    pause = std::min(pause * 2, kLongestLockPause);
  }

  auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
      clock.Now() - start);
  if (waited.count() > 0) {
    Logger()->info("waited {}ms for the lock on {}", waited.count(), path);
  }
  return lock;
}

namespace {

// A record file reached through a symlink is the link's target: the lock
// and the atomic rename must act on the real file, or the rename would
// replace the link and the two names would silently diverge.
std::string ResolvedPath(std::string path) {
  std::error_code error;
  if (std::filesystem::is_symlink(path, error)) {
    auto target = std::filesystem::weakly_canonical(path, error);
    if (!error) {
      return target.string();
    }
  }
  return path;
}

}  // namespace

FileRecordStore::FileRecordStore(std::string path,
                                 std::chrono::milliseconds lock_wait,
                                 Clock& clock)
    : path_(ResolvedPath(std::move(path))),
      lock_wait_(lock_wait),
      clock_(clock) {}

Result<std::vector<Deployment>> FileRecordStore::LoadAll() {
  Result<Records> records = ReadRecords(path_);
  if (!records.ok()) {
    return records.status();
  }
  std::vector<Deployment> all;
  all.reserve(records->size());
  for (auto& [vps, deployment] : *records) {
    all.push_back(std::move(deployment));
  }
  return all;
}

Status RecordStore::ForEach(const Visit& visit) {
  Result<std::vector<Deployment>> all = LoadAll();
  if (!all.ok()) {
    return all.status();
  }
  for (const Deployment& record : *all) {
    SIQ_RETURN_IF_ERROR(visit(record));
  }
  return OkStatus();
}

Status FileRecordStore::ForEach(const Visit& visit) {
  return WalkRecords(path_, visit);
}

Result<std::optional<Deployment>> FileRecordStore::Load(const VpsId& vps) {
  Result<Records> records = ReadRecords(path_);
  if (!records.ok()) {
    return records.status();
  }
  auto it = records->find(vps);
  if (it == records->end()) {
    return std::optional<Deployment>();
  }
  return std::optional<Deployment>(std::move(it->second));
}

Status FileRecordStore::Update(const VpsId& vps, const Change& change) {
  std::lock_guard serialise(update_mutex_);
  SIQ_RETURN_IF_ERROR(CheckDirectoryExists(path_));
  Result<FileLock> lock = AcquireFileLock(path_ + ".lock", lock_wait_, clock_);
  if (!lock.ok() && lock.status().code() == StatusCode::kLocked) {
    return Status(StatusCode::kLocked,
                  fmt::format("{} is locked by another siq process "
                              "(waited {})",
                              path_, FormatWait(lock_wait_)));
  }
  if (!lock.ok()) {
    return lock.status();
  }

  Result<Records> records = ReadRecords(path_);
  if (!records.ok()) {
    return records.status();
  }
  std::optional<Deployment> record;
  if (auto it = records->find(vps); it != records->end()) {
    record = it->second;
  }

  SIQ_RETURN_IF_ERROR(change(record));
  bool removed = !record.has_value();
  SIQ_RETURN_IF_ERROR(Store(vps, std::move(record), *records));

  Result<std::string> bytes = Serialize(path_, *records);
  if (!bytes.ok()) {
    return bytes.status();
  }
  SIQ_RETURN_IF_ERROR(WriteAtomically(path_, *bytes));
  Logger()->debug("{} the record of {} in {}: {} records, {} bytes",
                  removed ? "removed" : "stored", vps.str(), path_,
                  records->size(), bytes->size());
  return OkStatus();
}

Status WriteFileAtomically(const std::string& path, std::string_view bytes) {
  return WriteAtomically(path, bytes);
}

Result<FileLock> FileRecordStore::LockFor(std::string_view suffix,
                                          std::chrono::milliseconds wait) {
  return AcquireFileLock(path_ + std::string(suffix), wait, clock_);
}

}  // namespace siq::records
