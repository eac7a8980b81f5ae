#include "core/audit/report.h"

#include <algorithm>
#include <array>
#include <tuple>

#include "core/base/iso_time.h"

namespace siq::audit {
namespace {

struct CheckInfo {
  std::string_view id;
  std::string_view title;
  std::vector<std::string> controls;
};

// The controls each check serves, after the standard's compliance table.
const std::array<CheckInfo, 6>& Catalog() {
  static const std::array<CheckInfo, 6> kCatalog = {{
      {kUsesBarbican,
       "No .env in production",
       {"ISO 27001: access control", "PCI DSS: protect stored secrets",
        "SOC 2 Type II: logical access"}},
      {kRotationConfigured,
       "Rotation configured",
       {"PCI DSS: key rotation every 90 days", "ISO 27001: key management"}},
      {kNoHumanAccess,
       "No human access",
       {"SOC 2 Type II: audit logs",
        "HIPAA: audit logging + access "
        "restrictions",
        "ISO 27001: access control"}},
      {kEncryptionAtRest,
       "Encryption at rest",
       {"ISO 27001: encryption at rest", "HIPAA: encryption",
        "PCI DSS: protect stored keys"}},
      {kAclLeastPrivilege,
       "Least privilege",
       {"ISO 27001: access control", "HIPAA: access restrictions",
        "SOC 2 Type II: logical access"}},
      {kRecordsMatchBarbican,
       "Records match Barbican",
       {"SOC 2 Type II: asset inventory", "ISO 27001: inventory of assets"}},
  }};
  return kCatalog;
}

}  // namespace

std::string_view CheckStatusName(CheckStatus status) {
  switch (status) {
    case CheckStatus::kPass:
      return "pass";
    case CheckStatus::kWarn:
      return "warn";
    case CheckStatus::kFail:
      return "fail";
  }
  return "fail";
}

CheckResult NewCheck(std::string_view id) {
  CheckResult check;
  check.id = std::string(id);
  for (const CheckInfo& info : Catalog()) {
    if (info.id == id) {
      check.title = std::string(info.title);
      check.controls = info.controls;
    }
  }
  return check;
}

void Raise(CheckResult& check, CheckStatus status) {
  check.status = std::max(check.status, status);
}

CheckStatus Overall(const Report& report) {
  CheckStatus worst = CheckStatus::kPass;
  for (const CheckResult& check : report.checks) {
    worst = std::max(worst, check.status);
  }
  return worst;
}

void SortItems(Report& report) {
  for (CheckResult& check : report.checks) {
    std::stable_sort(check.items.begin(), check.items.end(),
                     [](const Item& a, const Item& b) {
                       return std::tie(b.severity, a.subject, a.detail) <
                              std::tie(a.severity, b.subject, b.detail);
                     });
  }
}

nlohmann::json ToJson(const Report& report) {
  nlohmann::json checks = nlohmann::json::array();
  for (const CheckResult& check : report.checks) {
    nlohmann::json items = nlohmann::json::array();
    for (const Item& item : check.items) {
      nlohmann::json entry = item.fields;
      entry["severity"] = CheckStatusName(item.severity);
      entry["subject"] = item.subject;
      entry["detail"] = item.detail;
      items.push_back(std::move(entry));
    }
    checks.push_back({{"id", check.id},
                      {"title", check.title},
                      {"controls", check.controls},
                      {"status", CheckStatusName(check.status)},
                      {"summary", check.summary},
                      {"evidence", check.evidence},
                      {"items", std::move(items)},
                      {"items_left_out", check.items_left_out}});
  }
  return {{"generated_at", FormatIso8601(report.generated_at)},
          {"since", FormatIso8601(report.since)},
          {"status", CheckStatusName(Overall(report))},
          {"checks", std::move(checks)}};
}

}  // namespace siq::audit
