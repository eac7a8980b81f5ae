// siq_record_bench: makes a record file the size of a large fleet and times
// reading it, for scripts/bench/rotate-due.sh.
//
//   siq_record_bench generate N FILE   N complete VPSs, default catalog,
//                                      nothing due for at least 30 days
//   siq_record_bench generate-document N FILE
//                                      the same in the layout of
//                                      schema_version 1 (one document)
//   siq_record_bench load-all FILE     FileRecordStore::LoadAll
//   siq_record_bench for-each FILE     FileRecordStore::ForEach
//
// The read commands print one line: "<mode> records=<n> wall_ms=<ms>
// peak_rss_mb=<mb>".

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <string_view>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/config/config.h"
#include "core/records/deployment.h"
#include "core/records/store.h"

namespace siq {
namespace {

constexpr char kBarbican[] = "http://127.0.0.1:9311/v1";

std::string Uuid(size_t n, size_t k) {
  return fmt::format("{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}", n, k, n % 4096,
                     k % 4096, n * 7919 + k);
}

records::Deployment MakeRecord(size_t n, TimePoint now) {
  auto vps = records::VpsId::Parse(fmt::format("vps-{:07}", n));
  records::Deployment record{.vps = *vps};
  record.organization = fmt::format("org-{}", n % 977);
  record.environment = "production";
  record.region = "RegionOne";
  record.state = std::string(records::kStateComplete);
  record.container_name = vps->str();
  record.container_ref =
      fmt::format("{}/containers/{}", kBarbican, Uuid(n, 99));
  record.reader_user_id = fmt::format("{:032x}", n);
  record.reader_user_name = fmt::format("siq-reader-{}", vps->str());
  record.provisioned_at = now;
  record.updated_at = now;
  size_t k = 0;
  for (const config::SecretKind& kind : config::DefaultSecretKinds()) {
    records::SecretSlot slot{.kind = kind.kind,
                             .name = config::SecretName(vps->str(), kind.kind)};
    slot.current = records::SecretVersion{
        .ref = fmt::format("{}/secrets/{}", kBarbican, Uuid(n, k)),
        .order_ref = fmt::format("{}/orders/{}", kBarbican, Uuid(n, k + 50)),
        .created_at = now};
    // Nothing is due: at least 30 days ahead, spread over the interval.
    slot.due_at = now + std::chrono::days(30) +
                  std::chrono::hours((n * 13 + k) % (size_t{24} * 60));
    record.secrets[kind.kind] = std::move(slot);
    ++k;
  }
  return record;
}

// Writes the file as FileRecordStore writes it (a header line, then one
// record per line), one record at a time so that generating needs little
// memory.
int Generate(size_t count, const std::string& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  TimePoint now = std::chrono::time_point_cast<std::chrono::seconds>(
      std::chrono::system_clock::now());
  out << nlohmann::json{{"schema_version", records::kRecordSchemaVersion}}
             .dump()
      << '\n';
  for (size_t n = 0; n < count; ++n) {
    out << records::ToJson(MakeRecord(n, now)).dump() << '\n';
  }
  out.close();
  return out ? 0 : 1;
}

// Writes the file as siq wrote it before schema_version 2: one document
// with two-space indentation.
int GenerateDocument(size_t count, const std::string& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  TimePoint now = std::chrono::time_point_cast<std::chrono::seconds>(
      std::chrono::system_clock::now());
  out << "{\n  \"deployments\": {";
  for (size_t n = 0; n < count; ++n) {
    records::Deployment record = MakeRecord(n, now);
    std::string body = records::ToJson(record).dump(2);
    std::string indented;
    indented.reserve(body.size() * 11 / 10);
    for (char c : body) {
      indented += c;
      if (c == '\n') {
        indented += "    ";
      }
    }
    out << (n == 0 ? "\n    \"" : ",\n    \"") << record.vps.str()
        << "\": " << indented;
  }
  out << "\n  },\n  \"schema_version\": " << records::kDocumentSchemaVersion
      << "\n}\n";
  out.close();
  return out ? 0 : 1;
}

double PeakRssMb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // kB on Linux
}

int Read(std::string_view mode, const std::string& path) {
  records::FileRecordStore store(path, std::chrono::seconds(1));
  auto start = std::chrono::steady_clock::now();
  size_t count = 0;
  Status status;
  if (mode == "load-all") {
    auto all = store.LoadAll();
    status = all.status();
    count = all.ok() ? all->size() : 0;
  } else {
    status = store.ForEach([&count](const records::Deployment&) {
      ++count;
      return OkStatus();
    });
  }
  auto wall = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  if (!status.ok()) {
    fmt::print(stderr, "siq_record_bench: {}\n", status.message());
    return 2;
  }
  fmt::print("{} records={} wall_ms={} peak_rss_mb={:.1f}\n", mode, count,
             wall.count(), PeakRssMb());
  return 0;
}

}  // namespace
}  // namespace siq

int main(int argc, char** argv) try {
  std::string_view mode = argc > 1 ? argv[1] : "";
  if (mode == "generate" && argc == 4) {
    return siq::Generate(std::stoul(argv[2]), argv[3]);
  }
  if (mode == "generate-document" && argc == 4) {
    return siq::GenerateDocument(std::stoul(argv[2]), argv[3]);
  }
  if ((mode == "load-all" || mode == "for-each") && argc == 3) {
    return siq::Read(mode, argv[2]);
  }
  (void)std::fputs(
      "usage: siq_record_bench generate N FILE | generate-document N FILE | "
      "load-all FILE | for-each FILE\n",
      stderr);
  return 1;
} catch (const std::exception& e) {
  (void)std::fprintf(stderr, "siq_record_bench: %s\n", e.what());
  return 1;
}
