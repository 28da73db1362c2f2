// Reading containers' stdout and stderr through FIFOs, the way containerd hands stdio to a
// task: the client names FIFO paths in Tasks.Create / Tasks.Exec and the shim opens them for
// writing. polyarch opens the read end first (O_RDONLY|O_NONBLOCK, so the open does not wait
// for the shim) and one background thread drains every open FIFO of a layer into bounded
// captures. Draining is what keeps a chatty container from blocking: the shim copies the
// process's output into the FIFO, and a full FIFO stalls the copy and then the process.
#ifndef POLYARCH_HARNESS_DRIVERS_CONTAINERD_FIFO_DRAIN_H_
#define POLYARCH_HARNESS_DRIVERS_CONTAINERD_FIFO_DRAIN_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "harness/core/capture.h"
#include "harness/core/status.h"

namespace polyarch::ctd {

// A bounded capture several FIFOs may feed (a container's stdout and stderr interleaved in
// arrival order), safe to read while it is being written.
class OutputSink {
 public:
  OutputSink(size_t head_bytes, size_t tail_bytes) : capture_(head_bytes, tail_bytes) {}
  void Append(std::string_view data);
  CapturedOutput Snapshot() const;

 private:
  mutable std::mutex mu_;
  BoundedCapture capture_;
};

class FifoDrain {
 public:
  using Handle = uint64_t;

  FifoDrain() = default;
  ~FifoDrain();  // stops the thread and closes (and unlinks) every FIFO still open
  FifoDrain(const FifoDrain&) = delete;
  FifoDrain& operator=(const FifoDrain&) = delete;

  // Creates the FIFO at `path` (mode 0600; an existing FIFO there is reused), opens its read
  // end and drains it into `sink` from now on.
  Result<Handle> Open(const std::string& path, std::shared_ptr<OutputSink> sink);

  // Whether the writer has come and gone (EOF), waiting until `deadline` at most. A FIFO no
  // writer ever opened never reaches EOF.
  bool WaitEof(Handle h, std::chrono::steady_clock::time_point deadline);

  // Reads what is still buffered, closes the read end and unlinks the FIFO. Unknown handles
  // are ignored.
  void Close(Handle h);

  size_t open_count() const;

 private:
  struct Fifo {
    std::string path;
    int fd = -1;
    bool eof = false;
    std::shared_ptr<OutputSink> sink;
  };

  Status EnsureThread();  // with mu_ held
  void Wake();
  void Loop();
  // Reads until EAGAIN; marks EOF when the writer is gone. With mu_ held.
  void DrainLocked(Fifo& f, bool hangup);

  mutable std::mutex mu_;
  std::condition_variable eof_cv_;
  std::map<Handle, Fifo> fifos_;
  Handle next_ = 1;
  int wake_[2] = {-1, -1};
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace polyarch::ctd

#endif  // POLYARCH_HARNESS_DRIVERS_CONTAINERD_FIFO_DRAIN_H_
