// ^C and SIGTERM in the parent: a flag, checked where it waits, so that the
// children, the embedded server and the temporary files are cleaned up.
#pragma once

#include <stdexcept>

namespace streamckpt::bench {

struct Interrupted : std::runtime_error {
  Interrupted() : std::runtime_error("interrupted") {}
};

// Installs the handlers (without SA_RESTART: a blocked wait returns EINTR).
void install_interrupt_handlers();
bool interrupted();
// Throws Interrupted when a signal arrived.
void check_interrupted();

}  // namespace streamckpt::bench
