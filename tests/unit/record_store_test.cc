#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/base/iso_time.h"
#include "core/records/store.h"

namespace siq::records {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr milliseconds kGenerousWait = std::chrono::minutes(2);

// Time that moves only when code sleeps on it; can run a hook on each sleep.
class FakeClock : public Clock {
 public:
  TimePoint Now() const override { return now_; }
  void SleepFor(milliseconds duration) override {
    now_ += duration;
    ++sleeps_;
    if (on_sleep_) {
      on_sleep_();
    }
  }

  void OnSleep(std::function<void()> hook) { on_sleep_ = std::move(hook); }
  int SleepCount() const { return sleeps_; }

 private:
  TimePoint now_ = ParseIso8601("2026-12-03T13:00:00Z").value();
  int sleeps_ = 0;
  std::function<void()> on_sleep_;
};

VpsId Vps(std::string_view text) {
  return VpsId::Parse(text).value();
}

Deployment Record(std::string_view vps, std::string organization = "org-1") {
  TimePoint provisioned = ParseIso8601("2026-12-03T13:00:00Z").value();
  SecretSlot jwt{
      .kind = "JWT_SECRET",
      .name = std::string(vps) + "_JWT_SECRET",
      .current = SecretVersion{.ref = "https://kms/v1/secrets/1",
                               .order_ref = "https://kms/v1/orders/1",
                               .created_at = provisioned},
      .due_at = provisioned + std::chrono::days(90),
  };
  return Deployment{
      .vps = Vps(vps),
      .organization = std::move(organization),
      .environment = "production",
      .region = "RegionOne",
      .state = std::string(kStateComplete),
      .provisioned_at = provisioned,
      .updated_at = provisioned,
      .secrets = {{"JWT_SECRET", jwt}},
  };
}

Status Put(RecordStore& store, const Deployment& deployment) {
  return store.Update(deployment.vps, [&](std::optional<Deployment>& record) {
    record = deployment;
    return OkStatus();
  });
}

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

void WriteBytes(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

mode_t ModeOf(const std::string& path) {
  struct stat info = {};
  EXPECT_EQ(stat(path.c_str(), &info), 0) << path;
  return info.st_mode & 07777;
}

std::set<std::string> FilesIn(const std::string& directory) {
  std::set<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(directory)) {
    names.insert(entry.path().filename().string());
  }
  return names;
}

// Runs `body` in a forked child that exits with its result. The child must
// not use gtest: only the parent reports.
pid_t Fork(const std::function<int()>& body) {
  pid_t pid = fork();
  if (pid == 0) {
    _exit(body());
  }
  return pid;
}

// The exit code of `pid`, or -1 when it did not exit normally.
int WaitForExit(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
    return -1;
  }
  return WEXITSTATUS(status);
}

// A child process that holds the lock on `lock_path` until it is killed or
// its parent closes the pipe it waits on.
class LockHolder {
 public:
  explicit LockHolder(const std::string& lock_path) {
    int ready[2];
    int release[2];
    EXPECT_EQ(pipe(ready), 0);
    EXPECT_EQ(pipe(release), 0);
    pid_ = Fork([&] {
      close(ready[0]);
      close(release[1]);
      Result<FileLock> lock = AcquireFileLock(lock_path, milliseconds(0));
      char byte = lock.ok() ? 'y' : 'n';
      if (write(ready[1], &byte, 1) != 1 || !lock.ok()) {
        return 1;
      }
      return read(release[0], &byte, 1) >= 0 ? 0 : 1;
    });
    close(ready[1]);
    close(release[0]);
    release_ = release[1];
    char byte = 0;
    locked_ = read(ready[0], &byte, 1) == 1 && byte == 'y';
    close(ready[0]);
  }
  LockHolder(const LockHolder&) = delete;
  LockHolder& operator=(const LockHolder&) = delete;
  ~LockHolder() {
    Kill();
    close(release_);
  }

  bool HoldsLock() const { return locked_; }

  void Kill() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }

 private:
  pid_t pid_ = -1;
  int release_ = -1;
  bool locked_ = false;
};

class FileRecordStoreTest : public testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = testing::TempDir() + "record_store_test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    directory_ = pattern;
    path_ = directory_ + "/deployments.json";
  }

  void TearDown() override { std::filesystem::remove_all(directory_); }

  std::string directory_;
  std::string path_;
  FakeClock clock_;
};

TEST_F(FileRecordStoreTest, LoadAllOfAMissingFileIsEmpty) {
  FileRecordStore store(path_, seconds(1), clock_);

  Result<std::vector<Deployment>> all = store.LoadAll();

  ASSERT_TRUE(all.ok()) << all.status().message();
  EXPECT_TRUE(all->empty());
}

TEST_F(FileRecordStoreTest, UpdateCreatesTheFileWithTheRecord) {
  FileRecordStore store(path_, seconds(1), clock_);
  Deployment deployment = Record("vps-1");

  Status status = Put(store, deployment);

  ASSERT_TRUE(status.ok()) << status.message();
  Result<std::optional<Deployment>> loaded = store.Load(Vps("vps-1"));
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ(*loaded, deployment);
}

// Found by a newcomer: writing through a symlink replaced the link with a
// regular file, and the record went only there.
TEST_F(FileRecordStoreTest, UpdateThroughASymlinkWritesTheTarget) {
  FileRecordStore real(path_, seconds(1), clock_);
  ASSERT_TRUE(Put(real, Record("vps-1")).ok());
  std::string link = directory_ + "/link.json";
  std::filesystem::create_symlink(path_, link);
  FileRecordStore linked(link, seconds(1), clock_);

  Status status = Put(linked, Record("vps-2"));

  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_TRUE(std::filesystem::is_symlink(link));
  Result<std::vector<Deployment>> all = real.LoadAll();
  ASSERT_TRUE(all.ok()) << all.status().message();
  EXPECT_EQ(all->size(), 2u);
}

TEST_F(FileRecordStoreTest, UpdateWritesTheVersionedFileFormat) {
  FileRecordStore store(path_, seconds(1), clock_);
  Deployment deployment = Record("vps-1");

  ASSERT_TRUE(Put(store, deployment).ok());

  EXPECT_EQ(ReadBytes(path_),
            "{\"schema_version\":2}\n" + ToJson(deployment).dump() + "\n");
}

TEST_F(FileRecordStoreTest, UpdateWritesOneRecordPerLineSortedByVpsId) {
  FileRecordStore store(path_, seconds(1), clock_);

  ASSERT_TRUE(Put(store, Record("vps-2")).ok());
  ASSERT_TRUE(Put(store, Record("vps-1")).ok());

  EXPECT_EQ(ReadBytes(path_), "{\"schema_version\":2}\n" +
                                  ToJson(Record("vps-1")).dump() + "\n" +
                                  ToJson(Record("vps-2")).dump() + "\n");
}

TEST_F(FileRecordStoreTest, DocumentFileOfSchemaVersion1StillLoads) {
  nlohmann::json doc = {{"schema_version", 1},
                        {"deployments",
                         {{"vps-1", ToJson(Record("vps-1"))},
                          {"vps-2", ToJson(Record("vps-2"))}}}};
  WriteBytes(path_, doc.dump(2));
  FileRecordStore store(path_, seconds(1), clock_);

  Result<std::vector<Deployment>> all = store.LoadAll();

  ASSERT_TRUE(all.ok()) << all.status().message();
  EXPECT_EQ(*all, (std::vector<Deployment>{Record("vps-1"), Record("vps-2")}));
}

TEST_F(FileRecordStoreTest, UpdateRewritesADocumentFileAsLines) {
  nlohmann::json doc = {{"schema_version", 1},
                        {"deployments", {{"vps-1", ToJson(Record("vps-1"))}}}};
  WriteBytes(path_, doc.dump(2));
  FileRecordStore store(path_, seconds(1), clock_);

  ASSERT_TRUE(Put(store, Record("vps-2")).ok());

  EXPECT_EQ(ReadBytes(path_), "{\"schema_version\":2}\n" +
                                  ToJson(Record("vps-1")).dump() + "\n" +
                                  ToJson(Record("vps-2")).dump() + "\n");
}

TEST_F(FileRecordStoreTest, LineThatIsNotJsonIsCorruptNamingTheLine) {
  WriteBytes(path_, "{\"schema_version\":2}\n" +
                        ToJson(Record("vps-1")).dump() + "\n{\"vps\": oops}\n");
  FileRecordStore store(path_, seconds(1), clock_);

  Result<std::vector<Deployment>> all = store.LoadAll();

  EXPECT_EQ(all.status().code(), StatusCode::kCorrupt);
  EXPECT_EQ(all.status().message(),
            path_ + ": not valid JSON: error at line 3, column 9");
}

TEST_F(FileRecordStoreTest, BadFieldOnALineIsCorruptNamingTheLineAndPath) {
  nlohmann::json bad = ToJson(Record("vps-2"));
  bad["secrets"]["JWT_SECRET"]["due_at"] = "soon";
  WriteBytes(path_, "{\"schema_version\":2}\n" +
                        ToJson(Record("vps-1")).dump() + "\n" + bad.dump() +
                        "\n");
  FileRecordStore store(path_, seconds(1), clock_);

  Result<std::vector<Deployment>> all = store.LoadAll();

  EXPECT_EQ(all.status().code(), StatusCode::kCorrupt);
  EXPECT_EQ(all.status().message(),
            path_ +
                ": line 3: deployments.vps-2.secrets.JWT_SECRET.due_at: not "
                "an ISO 8601 time: 'soon'");
}

TEST_F(FileRecordStoreTest, RepeatedRecordIsCorruptNamingTheLine) {
  WriteBytes(path_, "{\"schema_version\":2}\n" +
                        ToJson(Record("vps-1")).dump() + "\n" +
                        ToJson(Record("vps-1")).dump() + "\n");
  FileRecordStore store(path_, seconds(1), clock_);

  Result<std::vector<Deployment>> all = store.LoadAll();

  EXPECT_EQ(all.status().code(), StatusCode::kCorrupt);
  EXPECT_EQ(all.status().message(),
            path_ +
                ": line 3: the record of vps-1 follows that of vps-1: records "
                "are sorted by VPS id, one per VPS");
}

TEST_F(FileRecordStoreTest, HeaderOfAnotherSchemaVersionIsCorrupt) {
  WriteBytes(path_, "{\"schema_version\":3}\n");
  FileRecordStore store(path_, seconds(1), clock_);

  Result<std::vector<Deployment>> all = store.LoadAll();

  EXPECT_EQ(all.status().code(), StatusCode::kCorrupt);
  EXPECT_EQ(all.status().message(),
            path_ +
                ": line 1: schema_version is 3, and this siq reads "
                "schema_version 2 only");
}

TEST_F(FileRecordStoreTest, UpdateHandsTheStoredRecordToTheChange) {
  FileRecordStore store(path_, seconds(1), clock_);
  ASSERT_TRUE(Put(store, Record("vps-1", "org-1")).ok());

  std::string seen;
  Status status = store.Update(Vps("vps-1"), [&](auto& record) {
    seen = record->organization;
    record->organization = "org-2";
    return OkStatus();
  });

  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(seen, "org-1");
  EXPECT_EQ(store.Load(Vps("vps-1")).value()->organization, "org-2");
}

TEST_F(FileRecordStoreTest, UpdateThatResetsTheRecordDeletesIt) {
  FileRecordStore store(path_, seconds(1), clock_);
  ASSERT_TRUE(Put(store, Record("vps-1")).ok());
  ASSERT_TRUE(Put(store, Record("vps-2")).ok());

  Status status = store.Update(Vps("vps-1"), [](auto& record) {
    record.reset();
    return OkStatus();
  });

  ASSERT_TRUE(status.ok()) << status.message();
  std::vector<Deployment> all = store.LoadAll().value();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].vps.str(), "vps-2");
}

TEST_F(FileRecordStoreTest, LoadAllSortsByVpsId) {
  FileRecordStore store(path_, seconds(1), clock_);
  for (const char* vps : {"vps-c", "vps-a", "vps-B", "vps-b"}) {
    ASSERT_TRUE(Put(store, Record(vps)).ok());
  }

  std::vector<Deployment> all = store.LoadAll().value();

  std::vector<std::string> ids;
  ids.reserve(all.size());
  for (const Deployment& deployment : all) {
    ids.push_back(deployment.vps.str());
  }
  EXPECT_EQ(ids,
            (std::vector<std::string>{"vps-B", "vps-a", "vps-b", "vps-c"}));
}

TEST_F(FileRecordStoreTest, LoadOfAnUnknownVpsIsNothing) {
  FileRecordStore store(path_, seconds(1), clock_);
  ASSERT_TRUE(Put(store, Record("vps-1")).ok());

  Result<std::optional<Deployment>> loaded = store.Load(Vps("vps-2"));

  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ(*loaded, std::nullopt);
}

TEST_F(FileRecordStoreTest, FileIsMode0600EvenWithUmaskZero) {
  FileRecordStore store(path_, seconds(1), clock_);
  mode_t old_umask = umask(0);

  Status status = Put(store, Record("vps-1"));

  umask(old_umask);
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(ModeOf(path_), 0600u);
}

TEST_F(FileRecordStoreTest, FileIsMode0600EvenWithAUmaskThatRemovesAll) {
  FileRecordStore store(path_, seconds(1), clock_);
  mode_t old_umask = umask(0777);

  Status status = Put(store, Record("vps-1"));

  umask(old_umask);
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(ModeOf(path_), 0600u);
}

TEST_F(FileRecordStoreTest, LockFileIsMode0600EvenWithAUmaskThatRemovesAll) {
  FileRecordStore store(path_, seconds(1), clock_);
  mode_t old_umask = umask(0777);

  Status status = Put(store, Record("vps-1"));

  umask(old_umask);
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(ModeOf(path_ + ".lock"), 0600u);
}

TEST_F(FileRecordStoreTest, UpdateLeavesNoTemporaryFileBehind) {
  FileRecordStore store(path_, seconds(1), clock_);

  ASSERT_TRUE(Put(store, Record("vps-1")).ok());
  ASSERT_TRUE(Put(store, Record("vps-2")).ok());

  EXPECT_EQ(
      FilesIn(directory_),
      (std::set<std::string>{"deployments.json", "deployments.json.lock"}));
}

TEST_F(FileRecordStoreTest, UpdateInAMissingDirectoryFailsNamingIt) {
  std::string missing = directory_ + "/missing";
  FileRecordStore store(missing + "/deployments.json", seconds(1), clock_);

  Status status = Put(store, Record("vps-1"));

  EXPECT_EQ(status.code(), StatusCode::kIoError);
  EXPECT_EQ(status.message(), "writing " + missing +
                                  "/deployments.json: directory " + missing +
                                  ": No such file or directory");
}

TEST_F(FileRecordStoreTest, FileThatIsNotJsonIsCorruptAtItsLineAndColumn) {
  WriteBytes(path_, "{\n  \"schema_version\": 1,\n  oops\n}\n");
  FileRecordStore store(path_, seconds(1), clock_);

  Result<std::vector<Deployment>> all = store.LoadAll();

  EXPECT_EQ(all.status().code(), StatusCode::kCorrupt);
  EXPECT_EQ(all.status().message(),
            path_ + ": not valid JSON: error at line 3, column 3");
}

TEST_F(FileRecordStoreTest, FileWithANumberBeyondADoubleIsCorrupt) {
  WriteBytes(path_, R"({"schema_version": 1e500, "deployments": {}})");
  FileRecordStore store(path_, seconds(1), clock_);

  Result<std::vector<Deployment>> all = store.LoadAll();

  EXPECT_EQ(all.status().code(), StatusCode::kCorrupt);
  EXPECT_EQ(all.status().message(),
            path_ + ": not valid JSON: number overflow parsing '1e500'");
}

TEST_F(FileRecordStoreTest, UpdateOnAFileThatIsNotJsonWritesNothing) {
  std::string content = "{\"schema_version\": 1, \"deployments\": {";
  WriteBytes(path_, content);
  FileRecordStore store(path_, seconds(1), clock_);

  Status status = Put(store, Record("vps-1"));

  EXPECT_EQ(status.code(), StatusCode::kCorrupt);
  EXPECT_EQ(ReadBytes(path_), content);
}

TEST_F(FileRecordStoreTest, UnknownSchemaVersionIsCorruptNamingBothVersions) {
  WriteBytes(path_, R"({"schema_version": 2, "deployments": {}})");
  FileRecordStore store(path_, seconds(1), clock_);

  Result<std::vector<Deployment>> all = store.LoadAll();

  EXPECT_EQ(all.status().code(), StatusCode::kCorrupt);
  EXPECT_EQ(all.status().message(),
            path_ +
                ": schema_version is 2, and this siq reads "
                "schema_version 1 only");
}

TEST_F(FileRecordStoreTest, UpdateOnAnUnknownSchemaVersionWritesNothing) {
  std::string content = R"({"schema_version": 2, "deployments": {}})";
  WriteBytes(path_, content);
  FileRecordStore store(path_, seconds(1), clock_);

  Status status = Put(store, Record("vps-1"));

  EXPECT_EQ(status.code(), StatusCode::kCorrupt);
  EXPECT_EQ(ReadBytes(path_), content);
}

TEST_F(FileRecordStoreTest, BadFieldIsCorruptNamingTheFileAndItsPath) {
  FileRecordStore store(path_, seconds(1), clock_);
  nlohmann::json doc = {{"schema_version", 1},
                        {"deployments", {{"vps-1", ToJson(Record("vps-1"))}}}};
  doc["deployments"]["vps-1"]["secrets"]["JWT_SECRET"]["due_at"] = "soon";
  WriteBytes(path_, doc.dump());

  Result<std::optional<Deployment>> loaded = store.Load(Vps("vps-1"));

  EXPECT_EQ(loaded.status().code(), StatusCode::kCorrupt);
  EXPECT_EQ(loaded.status().message(),
            path_ +
                ": deployments.vps-1.secrets.JWT_SECRET.due_at: not an "
                "ISO 8601 time: 'soon'");
}

TEST_F(FileRecordStoreTest, UpdateOnABadFieldWritesNothing) {
  FileRecordStore store(path_, seconds(1), clock_);
  nlohmann::json record = ToJson(Record("vps-1"));
  record.erase("region");
  std::string content = "{\"schema_version\":2}\n" + record.dump() + "\n";
  WriteBytes(path_, content);

  Status status = Put(store, Record("vps-2"));

  EXPECT_EQ(status.code(), StatusCode::kCorrupt);
  EXPECT_EQ(ReadBytes(path_), content);
}

TEST_F(FileRecordStoreTest, RecordStoredUnderAnotherIdIsCorrupt) {
  FileRecordStore store(path_, seconds(1), clock_);
  nlohmann::json doc = {
      {"schema_version", 1},
      {"deployments", {{"vps-2", ToJson(Record("vps-1"))}}},
  };
  WriteBytes(path_, doc.dump());

  Result<std::vector<Deployment>> all = store.LoadAll();

  EXPECT_EQ(all.status().code(), StatusCode::kCorrupt);
  EXPECT_EQ(all.status().message(),
            path_ + ": deployments.vps-2.vps: 'vps-1' differs from its key");
}

TEST_F(FileRecordStoreTest, UnreadableFileIsAnIoErrorNamingIt) {
  std::filesystem::create_directory(path_);
  FileRecordStore store(path_, seconds(1), clock_);

  Result<std::vector<Deployment>> all = store.LoadAll();

  EXPECT_EQ(all.status().code(), StatusCode::kIoError);
  EXPECT_EQ(all.status().message(), "reading " + path_ + ": Is a directory");
}

TEST_F(FileRecordStoreTest, ChangeThatFailsWritesNothingAndReturnsItsError) {
  FileRecordStore store(path_, seconds(1), clock_);
  ASSERT_TRUE(Put(store, Record("vps-1")).ok());
  std::string before = ReadBytes(path_);

  Status status = store.Update(Vps("vps-1"), [](auto& record) {
    record->organization = "org-2";
    return Status(StatusCode::kConflict, "the container changed");
  });

  EXPECT_EQ(status.code(), StatusCode::kConflict);
  EXPECT_EQ(status.message(), "the container changed");
  EXPECT_EQ(ReadBytes(path_), before);
}

TEST_F(FileRecordStoreTest, ChangeThatFailsOnAMissingFileCreatesNoFile) {
  FileRecordStore store(path_, seconds(1), clock_);

  Status status = store.Update(Vps("vps-1"), [](auto& record) {
    record = Record("vps-1");
    return Status(StatusCode::kUnavailable, "Barbican is down");
  });

  EXPECT_EQ(status.code(), StatusCode::kUnavailable);
  EXPECT_FALSE(std::filesystem::exists(path_));
}

TEST_F(FileRecordStoreTest, ChangeThatLeavesTheRecordOfAnotherVpsIsRefused) {
  FileRecordStore store(path_, seconds(1), clock_);

  Status status = store.Update(Vps("vps-1"), [](auto& record) {
    record = Record("vps-2");
    return OkStatus();
  });

  EXPECT_EQ(status.code(), StatusCode::kInternal);
  EXPECT_FALSE(std::filesystem::exists(path_));
}

TEST_F(FileRecordStoreTest, TextThatIsNotUtf8IsRefusedWithoutWriting) {
  FileRecordStore store(path_, seconds(1), clock_);
  ASSERT_TRUE(Put(store, Record("vps-1")).ok());
  std::string before = ReadBytes(path_);

  Status status = Put(store, Record("vps-1", "org-\xFF"));

  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadBytes(path_), before);
}

TEST_F(FileRecordStoreTest, UpdateFailsWithLockedWhileAnotherOpenFileHolds) {
  FileRecordStore store(path_, seconds(10), clock_);
  Result<FileLock> held = AcquireFileLock(path_ + ".lock", milliseconds(0));
  ASSERT_TRUE(held.ok()) << held.status().message();

  Status status = Put(store, Record("vps-1"));

  EXPECT_EQ(status.code(), StatusCode::kLocked);
  EXPECT_EQ(status.message(),
            path_ + " is locked by another siq process (waited 10s)");
}

TEST_F(FileRecordStoreTest, UpdateWaitsTheWholeLockWaitBeforeGivingUp) {
  FileRecordStore store(path_, seconds(10), clock_);
  Result<FileLock> held = AcquireFileLock(path_ + ".lock", milliseconds(0));
  ASSERT_TRUE(held.ok()) << held.status().message();
  TimePoint start = clock_.Now();

  ASSERT_FALSE(Put(store, Record("vps-1")).ok());

  EXPECT_EQ(clock_.Now() - start, seconds(10));
}

TEST_F(FileRecordStoreTest, UpdateTakesTheLockOnceItIsReleasedDuringTheWait) {
  FileRecordStore store(path_, seconds(10), clock_);
  std::optional<Result<FileLock>> held =
      AcquireFileLock(path_ + ".lock", milliseconds(0));
  ASSERT_TRUE(held->ok());
  clock_.OnSleep([&] { held.reset(); });

  Status status = Put(store, Record("vps-1"));

  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(clock_.SleepCount(), 1);
}

TEST_F(FileRecordStoreTest, UpdateFailsWithLockedWhileAChildProcessHolds) {
  FileRecordStore store(path_, seconds(10), clock_);
  LockHolder holder(path_ + ".lock");
  ASSERT_TRUE(holder.HoldsLock());

  Status status = Put(store, Record("vps-1"));

  EXPECT_EQ(status.code(), StatusCode::kLocked);
}

TEST_F(FileRecordStoreTest, LockOfAKilledProcessDoesNotBlockTheNextUpdate) {
  FileRecordStore store(path_, milliseconds(0), clock_);
  LockHolder holder(path_ + ".lock");
  ASSERT_TRUE(holder.HoldsLock());
  ASSERT_EQ(Put(store, Record("vps-1")).code(), StatusCode::kLocked);

  holder.Kill();
  Status status = Put(store, Record("vps-1"));

  EXPECT_TRUE(status.ok()) << status.message();
}

TEST_F(FileRecordStoreTest, ConcurrentUpdatesFromThreadsAllLand) {
  constexpr int kThreads = 8;
  constexpr int kRecordsPerThread = 20;
  FileRecordStore store(path_, kGenerousWait);
  std::vector<Status> failures[kThreads];

  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRecordsPerThread; ++i) {
        Status status = Put(store, Record(fmt::format("vps-{}-{}", t, i)));
        if (!status.ok()) {
          failures[t].push_back(status);
        }
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }

  for (const auto& thread_failures : failures) {
    EXPECT_TRUE(thread_failures.empty()) << thread_failures[0].message();
  }
  EXPECT_EQ(store.LoadAll().value().size(),
            static_cast<size_t>(kThreads * kRecordsPerThread));
}

TEST_F(FileRecordStoreTest, ConcurrentUpdatesFromTwoProcessesAllLand) {
  constexpr int kRecordsPerProcess = 50;
  auto put_records = [&](std::string_view prefix) {
    FileRecordStore store(path_, kGenerousWait);
    int failures = 0;
    for (int i = 0; i < kRecordsPerProcess; ++i) {
      failures +=
          Put(store, Record(fmt::format("{}-{}", prefix, i))).ok() ? 0 : 1;
    }
    return failures;
  };

  pid_t child = Fork([&] { return put_records("child") == 0 ? 0 : 1; });
  int parent_failures = put_records("parent");
  int child_exit = WaitForExit(child);

  EXPECT_EQ(parent_failures, 0);
  EXPECT_EQ(child_exit, 0);
  FileRecordStore store(path_, seconds(1));
  EXPECT_EQ(store.LoadAll().value().size(),
            static_cast<size_t>(2 * kRecordsPerProcess));
}

TEST_F(FileRecordStoreTest, LockForLocksASidecarFileOfTheStore) {
  FileRecordStore store(path_, seconds(1), clock_);
  Result<FileLock> first = store.LockFor(".rotate.lock", milliseconds(0));
  ASSERT_TRUE(first.ok()) << first.status().message();

  Result<FileLock> second = store.LockFor(".rotate.lock", milliseconds(0));

  EXPECT_EQ(first->path(), path_ + ".rotate.lock");
  EXPECT_EQ(second.status().code(), StatusCode::kLocked);
  EXPECT_EQ(second.status().message(),
            path_ +
                ".rotate.lock is locked by another siq process (waited "
                "0s)");
}

TEST_F(FileRecordStoreTest, LockForDoesNotBlockUpdates) {
  FileRecordStore store(path_, milliseconds(0), clock_);
  Result<FileLock> rotate = store.LockFor(".rotate.lock", milliseconds(0));
  ASSERT_TRUE(rotate.ok()) << rotate.status().message();

  Status status = Put(store, Record("vps-1"));

  EXPECT_TRUE(status.ok()) << status.message();
}

class FileLockTest : public FileRecordStoreTest {};

TEST_F(FileLockTest, ZeroWaitFailsAtOnceWithoutSleeping) {
  Result<FileLock> first = AcquireFileLock(path_ + ".lock", milliseconds(0));
  ASSERT_TRUE(first.ok()) << first.status().message();

  Result<FileLock> second =
      AcquireFileLock(path_ + ".lock", milliseconds(0), clock_);

  EXPECT_EQ(second.status().code(), StatusCode::kLocked);
  EXPECT_EQ(clock_.SleepCount(), 0);
}

TEST_F(FileLockTest, DestroyingTheLockReleasesIt) {
  std::optional<Result<FileLock>> first =
      AcquireFileLock(path_ + ".lock", milliseconds(0));
  ASSERT_TRUE(first->ok());

  first.reset();
  Result<FileLock> second = AcquireFileLock(path_ + ".lock", milliseconds(0));

  EXPECT_TRUE(second.ok()) << second.status().message();
}

TEST_F(FileLockTest, MovedLockStaysHeld) {
  Result<FileLock> first = AcquireFileLock(path_ + ".lock", milliseconds(0));
  ASSERT_TRUE(first.ok());

  FileLock moved = std::move(first).value();
  Result<FileLock> second = AcquireFileLock(path_ + ".lock", milliseconds(0));

  EXPECT_EQ(second.status().code(), StatusCode::kLocked);
}

TEST_F(FileLockTest, LockInAMissingDirectoryIsAnIoErrorNamingIt) {
  std::string lock_path = directory_ + "/missing/x.lock";

  Result<FileLock> lock = AcquireFileLock(lock_path, milliseconds(0));

  EXPECT_EQ(lock.status().code(), StatusCode::kIoError);
  EXPECT_EQ(lock.status().message(),
            "opening lock file " + lock_path + ": No such file or directory");
}

// ForEach walks the file without holding it; it must see exactly what
// LoadAll sees, and fail on the same files with the same words.
std::vector<Deployment> Walk(RecordStore& store, Status& status) {
  std::vector<Deployment> seen;
  status = store.ForEach([&seen](const Deployment& record) {
    seen.push_back(record);
    return OkStatus();
  });
  return seen;
}

TEST_F(FileRecordStoreTest, ForEachVisitsExactlyWhatLoadAllReturns) {
  FileRecordStore store(path_, seconds(1), clock_);
  for (const char* vps : {"vps-3", "vps-1", "vps-20", "vps-2"}) {
    ASSERT_TRUE(Put(store, Record(vps, std::string("org-") + vps)).ok());
  }
  Result<std::vector<Deployment>> all = store.LoadAll();
  ASSERT_TRUE(all.ok());

  Status status;
  std::vector<Deployment> seen = Walk(store, status);

  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(seen, *all);
  EXPECT_EQ(seen.size(), 4u);
}

TEST_F(FileRecordStoreTest, ForEachOfAMissingFileVisitsNothing) {
  FileRecordStore store(path_, seconds(1), clock_);

  Status status;
  std::vector<Deployment> seen = Walk(store, status);

  EXPECT_TRUE(status.ok()) << status.message();
  EXPECT_TRUE(seen.empty());
}

TEST_F(FileRecordStoreTest, ForEachStopsAtTheFirstErrorOfTheVisit) {
  FileRecordStore store(path_, seconds(1), clock_);
  for (const char* vps : {"vps-1", "vps-2", "vps-3"}) {
    ASSERT_TRUE(Put(store, Record(vps)).ok());
  }
  int visits = 0;

  Status status = store.ForEach([&visits](const Deployment& record) {
    ++visits;
    return record.vps.str() == "vps-2"
               ? Status(StatusCode::kInternal, "stop here")
               : OkStatus();
  });

  EXPECT_EQ(status.code(), StatusCode::kInternal);
  EXPECT_EQ(status.message(), "stop here");
  EXPECT_EQ(visits, 2);
}

class ForEachCorruptTest
    : public FileRecordStoreTest,
      public testing::WithParamInterface<std::function<std::string()>> {};

TEST_P(ForEachCorruptTest, ForEachFailsWithTheErrorOfLoadAll) {
  WriteBytes(path_, GetParam()());
  FileRecordStore store(path_, seconds(1), clock_);
  Result<std::vector<Deployment>> all = store.LoadAll();
  ASSERT_FALSE(all.ok());

  Status status;
  Walk(store, status);

  EXPECT_EQ(status.code(), all.status().code());
  EXPECT_EQ(status.message(), all.status().message());
}

std::string WithBadDueDate() {
  nlohmann::json doc = {{"schema_version", 1},
                        {"deployments",
                         {{"vps-1", ToJson(Record("vps-1"))},
                          {"vps-2", ToJson(Record("vps-2"))}}}};
  doc["deployments"]["vps-2"]["secrets"]["JWT_SECRET"]["due_at"] = "soon";
  return doc.dump(2);
}

std::string UnderAnotherId() {
  nlohmann::json doc = {{"schema_version", 1},
                        {"deployments", {{"vps-2", ToJson(Record("vps-1"))}}}};
  return doc.dump();
}

std::string LinesWith(const std::string& second_line) {
  return "{\"schema_version\":2}\n" + ToJson(Record("vps-1")).dump() + "\n" +
         second_line + "\n";
}

std::string LineWithBadDueDate() {
  nlohmann::json bad = ToJson(Record("vps-2"));
  bad["secrets"]["JWT_SECRET"]["due_at"] = "soon";
  return LinesWith(bad.dump());
}

std::string LineOutOfOrder() {
  return LinesWith(ToJson(Record("vps-0")).dump());
}

std::string LineCut() {
  std::string line = ToJson(Record("vps-2")).dump();
  return LinesWith(line.substr(0, line.size() / 2));
}

std::string WithRecordCut() {
  std::string whole =
      nlohmann::json{{"schema_version", 1},
                     {"deployments", {{"vps-1", ToJson(Record("vps-1"))}}}}
          .dump(2);
  return whole.substr(0, whole.size() / 2);
}

INSTANTIATE_TEST_SUITE_P(
    CorruptFiles,
    ForEachCorruptTest,
    testing::Values(
        [] { return std::string("{\n  \"schema_version\": 1,\n  oops\n}\n"); },
        [] {
          return std::string(R"({"schema_version": 2, "deployments": {}})");
        },
        [] { return std::string(R"({"deployments": {}})"); },
        [] {
          return std::string(
              R"({"schema_version": 1, "deployments": {}, "x": 1})");
        },
        [] {
          return std::string(R"({"schema_version": 1, "deployments": []})");
        },
        [] { return std::string(R"({"schema_version": 1e500})"); },
        [] { return std::string("[1, 2]"); },
        [] { return std::string(""); },
        [] {
          return std::string(R"({"schema_version": 1, "deployments": )"
                             R"({"vps_1": {}}})");
        },
        [] {
          return std::string(
              R"({"schema_version": 1, "deployments": {"vps-1": 5}})");
        },
        WithBadDueDate,
        UnderAnotherId,
        WithRecordCut,
        [] { return std::string("{\"schema_version\":2,\"x\":1}\n"); },
        [] { return std::string("{\"schema_version\":\"2\"}\n"); },
        [] { return LinesWith("[]"); },
        [] { return LinesWith("{}"); },
        [] { return LinesWith(""); },
        [] { return LinesWith("{\"vps\": 1e500}"); },
        LineWithBadDueDate,
        LineOutOfOrder,
        LineCut));

TEST_F(FileRecordStoreTest, ForEachOfAnUnreadableFileIsTheIoErrorOfLoadAll) {
  std::filesystem::create_directory(path_);
  FileRecordStore store(path_, seconds(1), clock_);

  Status status;
  Walk(store, status);

  EXPECT_EQ(status.code(), StatusCode::kIoError);
  EXPECT_EQ(status.message(), "reading " + path_ + ": Is a directory");
}

}  // namespace
}  // namespace siq::records
