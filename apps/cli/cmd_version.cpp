// `cryptounet info`: what this build is and what it was built with.
#include "cli/command.h"
#include "cli/huge_page_heap.h"

#include <cstdio>
#include <thread>

namespace cryptounet::cli {
namespace {

void setup_info(CLI::App& root) {
  CLI::App* cmd = root.add_subcommand("info", "Print the build's version, compiler and cores");
  cmd->callback([] {
    std::printf("cryptounet 0.1.0\ncompiler: %s\nhardware threads: %u\nheap on huge pages: %s\nfirst touch of fresh heap: %s\n",
                __VERSION__, std::thread::hardware_concurrency(), huge_page_heap_state(), first_touch_state());
  });
}

Registrar reg("info", &setup_info);

}  // namespace
}  // namespace cryptounet::cli
