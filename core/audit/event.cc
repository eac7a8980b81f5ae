#include "core/audit/event.h"

#include <simdjson.h>

#include <array>
#include <cstring>

#include "core/audit/line_reader.h"
#include "core/base/iso_time.h"

namespace siq::audit {
namespace {

namespace dom = simdjson::dom;

static_assert(kLinePadding >= simdjson::SIMDJSON_PADDING);

struct Seen {
  bool time = false;
  bool action = false;
  bool outcome = false;
  bool path = false;
  bool initiator_id = false;
  bool payload = false;
};

// Sets `out` and returns true when `value` is a string.
bool AsString(dom::element value, std::string_view& out) {
  return value.get_string().get(out) == simdjson::SUCCESS;
}

void ReadInitiator(dom::object initiator, AuditEvent& event, Seen& seen) {
  for (dom::key_value_pair field : initiator) {
    if (field.key == "id") {
      seen.initiator_id = AsString(field.value, event.initiator_id);
    } else if (field.key == "name") {
      AsString(field.value, event.initiator_name);
    } else if (field.key == "project_id") {
      AsString(field.value, event.project_id);
    } else if (field.key == "host") {
      dom::object host;
      if (field.value.get_object().get(host) == simdjson::SUCCESS) {
        for (dom::key_value_pair entry : host) {
          if (entry.key == "address") {
            AsString(entry.value, event.address);
          }
        }
      }
    }
  }
}

void ReadReason(dom::object reason, AuditEvent& event) {
  for (dom::key_value_pair field : reason) {
    if (field.key == "reasonCode") {
      AsString(field.value, event.reason_code);
    }
  }
}

// The fields of a CADF event, or of the envelope around one: the envelope's
// "payload" is read the same way.
void ReadObject(dom::object object, AuditEvent& event, Seen& seen) {
  for (dom::key_value_pair field : object) {
    std::string_view key = field.key;
    if (key == "eventTime") {
      seen.time = AsString(field.value, event.event_time);
    } else if (key == "action") {
      seen.action = AsString(field.value, event.action);
    } else if (key == "outcome") {
      seen.outcome = AsString(field.value, event.outcome);
    } else if (key == "requestPath") {
      seen.path = AsString(field.value, event.request_path);
    } else if (key == "initiator" || key == "reason" || key == "payload") {
      dom::object inner;
      if (field.value.get_object().get(inner) != simdjson::SUCCESS) {
        continue;
      }
      if (key == "initiator") {
        ReadInitiator(inner, event, seen);
      } else if (key == "reason") {
        ReadReason(inner, event);
      } else {
        seen.payload = true;
        ReadObject(inner, event, seen);
      }
    }
  }
}

}  // namespace

std::string_view LineErrorName(LineError error) {
  switch (error) {
    case LineError::kNone:
      return "ok";
    case LineError::kNotJson:
      return "not JSON or cut short";
    case LineError::kNotAnEvent:
      return "not a CADF event";
    case LineError::kMissingField:
      return "a field is missing";
    case LineError::kBadTime:
      return "eventTime is not an ISO 8601 time";
    case LineError::kOversized:
      return "longer than 1 MiB";
  }
  return "unknown";
}

bool ParseEventTime(std::string_view text, TimePoint& time) {
  // Barbican writes "+0000"; ParseIso8601 reads "+00:00".
  std::array<char, 64> fixed{};
  size_t n = text.size();
  if (n >= 5 && n < fixed.size() - 1 &&
      (text[n - 5] == '+' || text[n - 5] == '-') &&
      text.substr(n - 4).find(':') == std::string_view::npos) {
    std::memcpy(fixed.data(), text.data(), n - 2);
    fixed[n - 2] = ':';
    std::memcpy(fixed.data() + n - 1, text.data() + n - 2, 2);
    text = std::string_view(fixed.data(), n + 1);
  }
  auto parsed = ParseIso8601(text);
  if (!parsed.ok()) {
    return false;
  }
  time = *parsed;
  return true;
}

struct EventParser::Impl {
  dom::parser parser{kMaxLineBytes};
};

EventParser::EventParser() : impl_(std::make_unique<Impl>()) {}
EventParser::~EventParser() = default;

LineError EventParser::Parse(std::string_view line,
                             size_t capacity,
                             AuditEvent& event,
                             std::string_view& missing) {
  event = AuditEvent{};
  if (capacity < line.size() + simdjson::SIMDJSON_PADDING) {
    return LineError::kNotJson;  // not expected: the reader pads every line
  }
  dom::element doc;
  if (impl_->parser.parse(line.data(), line.size(), false).get(doc) !=
      simdjson::SUCCESS) {
    return LineError::kNotJson;
  }
  dom::object top;
  if (doc.get_object().get(top) != simdjson::SUCCESS) {
    return LineError::kNotAnEvent;
  }
  Seen seen;
  ReadObject(top, event, seen);

  if (!seen.payload && !seen.time && !seen.action) {
    return LineError::kNotAnEvent;
  }
  for (auto [present, name] :
       {std::pair{seen.time, "eventTime"}, std::pair{seen.action, "action"},
        std::pair{seen.outcome, "outcome"}, std::pair{seen.path, "requestPath"},
        std::pair{seen.initiator_id, "initiator.id"}}) {
    if (!present) {
      missing = name;
      return LineError::kMissingField;
    }
  }
  if (!ParseEventTime(event.event_time, event.time)) {
    return LineError::kBadTime;
  }
  return LineError::kNone;
}

}  // namespace siq::audit
