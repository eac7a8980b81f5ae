// One CADF audit event of Barbican's, read from one line of an audit log.
//
// The local stack's Barbican (audit middleware, oslo.messaging "log"
// notification driver) writes each event as a notification envelope:
//
//   {"event_type": "audit.http.response", "payload": {<CADF event>}, ...}
//
// A bare CADF event on a line (no envelope) is read the same way. Of the
// event, siq needs eventTime, action, outcome, requestPath and the
// initiator's id, name, project_id and host address; reason.reasonCode is
// kept when present.
//
// EventParser owns a simdjson on-demand parser and reuses it line after
// line; the string_views of an AuditEvent point into that parser (or into
// the line) and are valid until the next Parse. Not safe to share between
// threads: use one parser per thread.
#pragma once

#include <memory>
#include <string_view>

#include "core/base/clock.h"

namespace siq::audit {

struct AuditEvent {
  TimePoint time;
  std::string_view event_time;  // as written
  std::string_view action;      // read, read/list, create, update, delete
  std::string_view outcome;     // pending, success, failure
  std::string_view request_path;
  std::string_view initiator_id;
  std::string_view initiator_name;
  std::string_view project_id;
  std::string_view address;      // initiator.host.address, or ""
  std::string_view reason_code;  // the HTTP status, or ""
};

// Why a line is not an event. kNone: it is one.
enum class LineError {
  kNone,
  kNotJson,       // not JSON at all, or cut short
  kNotAnEvent,    // JSON, but not an object with a CADF event
  kMissingField,  // a field siq needs is absent or not a string
  kBadTime,       // eventTime is not an ISO 8601 time
  kOversized,     // longer than the reader accepts
};

std::string_view LineErrorName(LineError error);

class EventParser {
 public:
  EventParser();
  ~EventParser();
  EventParser(const EventParser&) = delete;
  EventParser& operator=(const EventParser&) = delete;

  // Reads the event on `line`. REQUIRES: `capacity` bytes are readable from
  // line.data() and capacity >= line.size() + kLinePadding (line_reader.h).
  // On kMissingField, `missing` names the field.
  LineError Parse(std::string_view line,
                  size_t capacity,
                  AuditEvent& event,
                  std::string_view& missing);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// "2026-12-03T16:13:28.348241+0000" (Barbican's form), "+00:00", "Z" or no
// offset; false when `text` is none of these.
bool ParseEventTime(std::string_view text, TimePoint& time);

}  // namespace siq::audit
