// RecordingNotifier: a Notifier that keeps every event it is given and
// delivers nothing, for unit tests of code that notifies (rotation,
// recovery). `fail` makes every Send() report one failed delivery, as a
// broken mail relay would.
//
// Belongs to one test; not safe to share between threads.
#pragma once

#include <vector>

#include "core/notify/notifier.h"

namespace siq::test {

class RecordingNotifier : public notify::Notifier {
 public:
  std::vector<notify::Delivery> Send(const notify::Event& event) override {
    events.push_back(event);
    if (fail) {
      return {{"recording", Status(StatusCode::kUnavailable, "relay down")}};
    }
    return {{"recording", OkStatus()}};
  }

  std::vector<notify::Event> events;
  bool fail = false;
};

}  // namespace siq::test
