// The compliance report of `siq audit`: one result per check, each with a
// status (pass, warn, fail), the controls it serves, a one-line summary,
// evidence (counts and settings) and the offending items.
//
// The JSON form is stable for CI: checks in their fixed order, object keys
// sorted, items worst first and then by subject. Plain values, safe to copy
// and share.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/base/clock.h"

namespace siq::audit {

// Ordered from best to worst.
enum class CheckStatus { kPass, kWarn, kFail };

std::string_view CheckStatusName(CheckStatus status);

// The check ids, in the report's order.
inline constexpr std::string_view kUsesBarbican = "uses_barbican";
inline constexpr std::string_view kRotationConfigured = "rotation_configured";
inline constexpr std::string_view kNoHumanAccess = "no_human_access";
inline constexpr std::string_view kEncryptionAtRest = "encryption_at_rest";
inline constexpr std::string_view kAclLeastPrivilege = "acl_least_privilege";
inline constexpr std::string_view kRecordsMatchBarbican =
    "records_match_barbican";

// One offending (or noteworthy) thing: a file, a secret, a read.
struct Item {
  CheckStatus severity = CheckStatus::kFail;
  std::string subject;  // what it is about: a path, a secret, a VPS
  std::string detail;   // what is wrong, in words
  // More, for scripts (who, when, secret id, ...): a JSON object.
  nlohmann::json fields = nlohmann::json::object();
};

struct CheckResult {
  std::string id;
  std::string title;
  std::vector<std::string> controls;
  CheckStatus status = CheckStatus::kPass;
  std::string summary;
  nlohmann::json evidence = nlohmann::json::object();
  std::vector<Item> items;
  // Items not kept (beyond a cap) but counted.
  uint64_t items_left_out = 0;
};

// A check with its id, title and controls filled in, status pass.
CheckResult NewCheck(std::string_view id);

// Raises `check.status` to `status` when that is worse.
void Raise(CheckResult& check, CheckStatus status);

struct Report {
  TimePoint generated_at;
  TimePoint since;
  std::vector<CheckResult> checks;  // in the fixed order
};

// The worst status of any check.
CheckStatus Overall(const Report& report);

// Sorts each check's items, worst first, then by subject and detail.
void SortItems(Report& report);

nlohmann::json ToJson(const Report& report);

}  // namespace siq::audit
