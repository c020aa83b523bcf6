// dllmem benchmarks (Google Benchmark). Every figure sits beside its own
// baseline measured in the same binary and run, and the program ends with a
// table of ratios (and writes them as JSON with --ratios_out=FILE). Timing is
// reported, never asserted: the machine is shared and noisy.
//
//   SetGetPair/len     SetSharedMem + GetSharedMem of a len-unit string
//   TwoMemcpy/len      baseline: the same bytes copied in and out of a shared page
//   AttachDetach/*     the library's own attach+detach path (sole, or joining a holder)
//   RawCycle/*         baseline: shm_open+ftruncate+mmap+munmap+close (+unlink when sole)
//   DlopenDlclose      loading and unloading libdllmem.so, constructor to destructor
//   Reads/writer:0|1   reads per second by a reader, without and with a busy writer
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "entry.h"
#include "shim.h"

extern "C" {
uint64_t bench_read_attempts(void);  // bench/stats.c
uint64_t bench_read_retries(void);
}

#ifndef BENCH_LIBRARY
#define BENCH_LIBRARY ""
#endif

namespace {

constexpr size_t kCap = 2048;
std::string g_name;

std::vector<dllmem_unit> Text(size_t len) {
  std::vector<dllmem_unit> s(len + 1, 0);
  for (size_t i = 0; i < len; i++) s[i] = static_cast<dllmem_unit>('a' + i % 26);
  return s;
}

void SetGetPair(benchmark::State &state) {
  auto src = Text(static_cast<size_t>(state.range(0)));
  std::vector<dllmem_unit> dst(kCap);
  for (auto _ : state) {
    SetSharedMem(src.data());
    GetSharedMem(dst.data(), kCap);
    benchmark::DoNotOptimize(dst.data());
  }
}
BENCHMARK(SetGetPair)->Arg(0)->Arg(16)->Arg(256)->Arg(kCap - 1);

void TwoMemcpy(benchmark::State &state) {
  auto src = Text(static_cast<size_t>(state.range(0)));
  std::vector<dllmem_unit> dst(kCap);
  void *page = mmap(nullptr, 4096 * 2, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  size_t bytes = src.size() * sizeof(dllmem_unit);
  for (auto _ : state) {
    memcpy(page, src.data(), bytes);
    benchmark::ClobberMemory();
    memcpy(dst.data(), page, bytes);
    benchmark::DoNotOptimize(dst.data());
  }
  munmap(page, 4096 * 2);
}
BENCHMARK(TwoMemcpy)->Arg(0)->Arg(16)->Arg(256)->Arg(kCap - 1);

// A second attacher, so the measured attach joins instead of creating. It
// holds what an attached process holds (docs/layout.md): byte 0 shared and a
// slot byte exclusive. (Byte 0 alone is what a dead attacher's leftovers look
// like, and the library rightly goes round instead of joining.)
struct Holder {
  static constexpr off_t kSlotByte = 1 + 65535;  // the last slot
  int fd = -1;
  static bool Lock(int fd, short type, off_t at) {
    struct flock fl {};
    fl.l_type = type;
    fl.l_whence = SEEK_SET;
    fl.l_start = at;
    fl.l_len = 1;
    return fcntl(fd, F_OFD_SETLK, &fl) == 0;
  }
  void Take() {
    char on[512];
    if (!shim_object_name(on, sizeof on, g_name.c_str(), "")) abort();
    fd = shm_open(on, O_RDWR, 0);
    if (fd < 0 || !Lock(fd, F_RDLCK, 0) || !Lock(fd, F_WRLCK, kSlotByte)) abort();
  }
  void Drop() { close(fd); }
};

void AttachDetach(benchmark::State &state) {
  bool joined = state.range(0) == 1;
  Holder h;
  if (joined) h.Take();
  for (auto _ : state) {
    dllmem_core_detach();
    dllmem_core_attach();
  }
  if (dllmem_attach_status() != DLLMEM_OK) state.SkipWithError(dllmem_attach_reason());
  if (joined) h.Drop();
}
BENCHMARK(AttachDetach)->ArgName("joined")->Arg(0)->Arg(1);

void RawCycle(benchmark::State &state) {
  bool joined = state.range(0) == 1;
  std::string name = "/" + g_name + "-raw";
  const off_t size = static_cast<off_t>(shim_layout_of(DLLMEM_DEFAULT_SIZE).mapping);  // as dllmem
  int keep = joined ? shm_open(name.c_str(), O_RDWR | O_CREAT, 0600) : -1;
  if (joined && ftruncate(keep, size) != 0) abort();
  for (auto _ : state) {
    int fd = shm_open(name.c_str(), O_RDWR | O_CREAT, 0600);
    if (fd < 0 || ftruncate(fd, size) != 0) abort();
    void *p = mmap(nullptr, static_cast<size_t>(size), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    benchmark::DoNotOptimize(p);
    munmap(p, static_cast<size_t>(size));
    close(fd);
    if (!joined) shm_unlink(name.c_str());
  }
  if (joined) {
    close(keep);
    shm_unlink(name.c_str());
  }
}
BENCHMARK(RawCycle)->ArgName("joined")->Arg(0)->Arg(1);

void DlopenDlclose(benchmark::State &state) {
  char err[512];
  for (auto _ : state) {
    shim_lib lib;
    if (!shim_lib_load(&lib, BENCH_LIBRARY, err, sizeof err)) {
      state.SkipWithError(err);
      break;
    }
    shim_lib_unload(&lib);
  }
}
BENCHMARK(DlopenDlclose);

// One reader thread (the benchmark's) reads whole 1 KiB strings. writer:1 adds
// a thread storing strings of the same length non-stop (the worst case: every
// read competes for the cache lines being written); writer:2 paces the same
// writer at one Set per 10 us (100,000 Sets/s).
void Reads(benchmark::State &state) {
  bool with_writer = state.range(0) >= 1;
  bool paced = state.range(0) == 2;
  auto text = Text(1024);
  SetSharedMem(text.data());
  std::atomic<bool> stop{false};
  std::atomic<long> writes{0};
  std::thread writer;
  if (with_writer) {
    writer = std::thread([&] {
      auto other = Text(1024);
      other[0] = 'Z';
      while (!stop.load(std::memory_order_relaxed)) {
        SetSharedMem(writes.load(std::memory_order_relaxed) % 2 ? other.data() : text.data());
        writes.fetch_add(1, std::memory_order_relaxed);
        if (paced) {
          auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(10);
          while (std::chrono::steady_clock::now() < until) {
          }
        }
      }
    });
    while (writes.load() == 0) std::this_thread::yield();
  }
  std::vector<dllmem_unit> dst(kCap);
  uint64_t a0 = bench_read_attempts(), r0 = bench_read_retries();
  for (auto _ : state) {
    GetSharedMem(dst.data(), kCap);
    benchmark::DoNotOptimize(dst.data());
  }
  uint64_t attempts = bench_read_attempts() - a0, retries = bench_read_retries() - r0;
  stop = true;
  if (writer.joinable()) writer.join();
  state.SetItemsProcessed(state.iterations());
  state.counters["retries_per_read"] =
      static_cast<double>(retries) /
      static_cast<double>(state.iterations() ? state.iterations() : 1);
  state.counters["attempts"] = static_cast<double>(attempts);
  state.counters["writes"] = static_cast<double>(writes.load());
}
BENCHMARK(Reads)->ArgName("writer")->Arg(0)->Arg(1)->Arg(2)->UseRealTime();

// Collects every run so the ratios can be printed after the usual report.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  std::map<std::string, Run> runs;
  void ReportRuns(const std::vector<Run> &reports) override {
    for (const Run &r : reports)
      if (r.run_type == Run::RT_Iteration || r.aggregate_name == "median")
        runs[r.run_name.str()] = r;
    ConsoleReporter::ReportRuns(reports);
  }
  double Ns(const std::string &name) const {
    auto it = runs.find(name);
    return it == runs.end() ? 0 : it->second.GetAdjustedRealTime();
  }
  double Counter(const std::string &name, const std::string &c) const {
    auto it = runs.find(name);
    if (it == runs.end()) return 0;
    auto ct = it->second.counters.find(c);
    return ct == it->second.counters.end() ? 0 : static_cast<double>(ct->second);
  }
};

}  // namespace

int main(int argc, char **argv) {
  std::string ratios_out;
  std::vector<char *> args;
  for (int i = 0; i < argc; i++) {
    if (strncmp(argv[i], "--ratios_out=", 13) == 0)
      ratios_out = argv[i] + 13;
    else
      args.push_back(argv[i]);
  }
  int n = static_cast<int>(args.size());
  g_name = "dllmem-bench-" + std::to_string(getpid());
  setenv("DLLMEM_NAME", g_name.c_str(), 1);
  unsetenv("DLLMEM_SIZE");
  dllmem_core_attach();
  if (dllmem_attach_status() != DLLMEM_OK) {
    fprintf(stderr, "bench: %s\n", dllmem_attach_reason());
    return 1;
  }
  benchmark::Initialize(&n, args.data());
  RatioReporter rep;
  benchmark::RunSpecifiedBenchmarks(&rep);
  dllmem_core_detach();
  // A benchmark that errored mid-cycle can leave this run's object behind (a
  // holder kept it from being removed); the name carries this pid.
  char on[512];
  if (shim_object_name(on, sizeof on, g_name.c_str(), "")) shm_unlink(on);

  struct Row {
    std::string what, measured, baseline;
    double ratio;
  };
  std::vector<Row> rows;
  auto ratio = [&](const std::string &what, const std::string &a, const std::string &b) {
    double x = rep.Ns(a), y = rep.Ns(b);
    if (x > 0 && y > 0) rows.push_back({what, a, b, x / y});
  };
  for (size_t len : {size_t{0}, size_t{16}, size_t{256}, kCap - 1}) {
    std::string l = std::to_string(len);
    ratio("Set+Get " + l + " units vs two memcpys", "SetGetPair/" + l, "TwoMemcpy/" + l);
  }
  ratio("attach+detach (sole) vs raw create cycle", "AttachDetach/joined:0", "RawCycle/joined:0");
  ratio("attach+detach (joining) vs raw open cycle", "AttachDetach/joined:1", "RawCycle/joined:1");
  ratio("dlopen+dlclose vs raw create cycle", "DlopenDlclose", "RawCycle/joined:0");
  double r0 = rep.Ns("Reads/writer:0/real_time"), r1 = rep.Ns("Reads/writer:1/real_time");
  if (r0 > 0 && r1 > 0)
    rows.push_back({"read throughput with a busy writer vs without", "Reads/writer:1",
                    "Reads/writer:0", r0 / r1});
  double r2 = rep.Ns("Reads/writer:2/real_time");
  if (r0 > 0 && r2 > 0)
    rows.push_back({"read throughput, writer at 100k Sets/s, vs without", "Reads/writer:2",
                    "Reads/writer:0", r0 / r2});
  double retries = rep.Counter("Reads/writer:1/real_time", "retries_per_read");

  printf("\n%-48s %12s %12s %8s\n", "RATIO (measured / baseline, same run)", "measured ns",
         "baseline ns", "ratio");
  for (const Row &r : rows) {
    bool throughput = r.measured.rfind("Reads", 0) == 0;
    printf("%-48s %12.1f %12.1f %8.2f%s\n", r.what.c_str(),
           rep.Ns(throughput ? r.measured + "/real_time" : r.measured),
           rep.Ns(throughput ? r.baseline + "/real_time" : r.baseline), r.ratio,
           throughput ? "  (throughput ratio)" : "");
  }
  printf("reader retries per read with a busy writer: %.4f\n", retries);
  if (!ratios_out.empty()) {
    FILE *f = fopen(ratios_out.c_str(), "w");
    if (!f) return 1;
    fprintf(f, "{\n  \"ratios\": [\n");
    for (size_t i = 0; i < rows.size(); i++)
      fprintf(
          f,
          "    {\"what\": \"%s\", \"measured\": \"%s\", \"baseline\": \"%s\", \"ratio\": %.4f}%s\n",
          rows[i].what.c_str(), rows[i].measured.c_str(), rows[i].baseline.c_str(), rows[i].ratio,
          i + 1 < rows.size() ? "," : "");
    fprintf(f, "  ],\n  \"reader_retries_per_read_with_writer\": %.6f\n}\n", retries);
    fclose(f);
  }
  return 0;
}
