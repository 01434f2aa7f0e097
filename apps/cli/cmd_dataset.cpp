// `cryptounet dataset synth|check`: make the synthetic nuclei dataset; check a dataset folder.
#include "cli/command.h"

#include "cryptounet/data/dataset.h"
#include "cryptounet/data/synth_nuclei.h"

#include <cstdio>
#include <memory>

namespace cryptounet::cli {
namespace {

struct SynthArgs {
  int count = 200;
  int size = 64;
  std::uint64_t seed = 1;
  std::string out;
};

struct CheckArgs {
  std::string dir;
};

void setup_dataset(CLI::App& root) {
  CLI::App* group = subcommand_group(root, "dataset", "Make or check dataset folders");

  auto synth = std::make_shared<SynthArgs>();
  CLI::App* s = group->add_subcommand(
      "synth", "Write synthetic fluorescence nuclei with exact masks (deterministic per seed)");
  s->add_option("--count", synth->count, "Number of images (70/15/15 train/val/test)")
      ->check(CLI::Range(1, 1000000));
  s->add_option("--size", synth->size, "Image side in pixels")->check(CLI::Range(16, 4096));
  s->add_option("--seed", synth->seed, "Seed: the same seed gives the same bytes");
  s->add_option("-o,--out", synth->out, "Output folder (images/, masks/, manifest.json)")->required();
  s->callback([synth] {
    const auto ds = data::write_synth_dataset(synth->out, synth->count,
                                              {.size = synth->size, .seed = synth->seed});
    std::printf("wrote %zu images (%zu train, %zu val, %zu test) of %dx%d to %s\n",
                ds.items.size(), ds.split("train").size(), ds.split("val").size(),
                ds.split("test").size(), synth->size, synth->size, synth->out.c_str());
  });

  auto check = std::make_shared<CheckArgs>();
  CLI::App* c = group->add_subcommand(
      "check", "Read a dataset folder and every image/mask pair; report problems");
  c->add_option("dir", check->dir, "Dataset folder")->required();
  c->callback([check] {
    const auto ds = data::read_dataset(check->dir);
    double fg = 0;
    for (const auto& item : ds.items) {
      const auto s = data::load_sample(ds, item);
      fg += static_cast<double>(s.mask.count()) / static_cast<double>(s.mask.values.size());
    }
    std::printf("%s: %zu pairs (%zu train, %zu val, %zu test), size %d, mean foreground %.1f%%: ok\n",
                ds.name.c_str(), ds.items.size(), ds.split("train").size(),
                ds.split("val").size(), ds.split("test").size(), ds.size,
                ds.items.empty() ? 0.0 : 100.0 * fg / static_cast<double>(ds.items.size()));
  });
}

Registrar reg("dataset", &setup_dataset);

}  // namespace
}  // namespace cryptounet::cli
