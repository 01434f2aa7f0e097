// Checks that the first ```cpp block under a README heading is, verbatim, an example's source.
// Usage: check_readme_example README.md "## Heading" examples/NN_name.cpp
// Exit 0: identical; 1: different or no ```cpp block under the heading; 2: unreadable file;
// 77 (skipped): README.md has no such heading yet.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace {

bool read_lines(const char* path, std::vector<std::string>& lines) {
  std::ifstream in(path);
  if (!in) return false;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s README.md \"## Heading\" example.cpp\n", argv[0]);
    return 2;
  }
  const std::string heading = argv[2];
  std::vector<std::string> readme, example;
  if (!read_lines(argv[1], readme) || !read_lines(argv[3], example)) {
    std::fprintf(stderr, "cannot read %s or %s\n", argv[1], argv[3]);
    return 2;
  }
  std::size_t i = 0;
  while (i < readme.size() && readme[i] != heading) ++i;
  if (i == readme.size()) {
    std::printf("skipped: %s has no line \"%s\" yet\n", argv[1], heading.c_str());
    return 77;
  }
  // The first ```cpp fence after the heading and before the next heading of any level.
  for (++i; i < readme.size() && readme[i] != "```cpp"; ++i) {
    if (readme[i].starts_with("#")) break;
  }
  if (i >= readme.size() || readme[i] != "```cpp") {
    std::printf("FAIL: no ```cpp block under \"%s\" in %s\n", heading.c_str(), argv[1]);
    return 1;
  }
  std::vector<std::string> block;
  for (++i; i < readme.size() && readme[i] != "```"; ++i) block.push_back(readme[i]);
  while (!block.empty() && block.back().empty()) block.pop_back();
  for (std::size_t k = 0; k < std::max(block.size(), example.size()); ++k) {
    const std::string* a = k < block.size() ? &block[k] : nullptr;
    const std::string* b = k < example.size() ? &example[k] : nullptr;
    if (!a || !b || *a != *b) {
      std::printf("FAIL: README block under \"%s\" differs from %s at line %zu:\n  README:  %s\n  example: %s\n"
                  "Paste the example into the README again.\n",
                  heading.c_str(), argv[3], k + 1, a ? a->c_str() : "(end of block)",
                  b ? b->c_str() : "(end of file)");
      return 1;
    }
  }
  std::printf("README block under \"%s\" matches %s (%zu lines)\n", heading.c_str(), argv[3], example.size());
  return 0;
}
