#include "harness/drivers/containerd/fifo_drain.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

namespace polyarch::ctd {

void OutputSink::Append(std::string_view data) {
  std::lock_guard<std::mutex> lock(mu_);
  capture_.Append(data);
}

CapturedOutput OutputSink::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return capture_.Finish();
}

FifoDrain::~FifoDrain() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  Wake();
  if (thread_.joinable()) thread_.join();
  for (auto& [h, f] : fifos_) {
    if (f.fd >= 0) ::close(f.fd);
    ::unlink(f.path.c_str());
  }
  for (int fd : wake_) {
    if (fd >= 0) ::close(fd);
  }
}

Status FifoDrain::EnsureThread() {
  if (thread_.joinable()) return Status::Ok();
  if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) return ErrnoStatus(errno, "pipe2");
  thread_ = std::thread([this] { Loop(); });
  return Status::Ok();
}

void FifoDrain::Wake() {
  if (wake_[1] < 0) return;
  char c = 1;
  // A full wake pipe already guarantees a wake-up.
  while (::write(wake_[1], &c, 1) < 0 && errno == EINTR) {
  }
}

Result<FifoDrain::Handle> FifoDrain::Open(const std::string& path,
                                          std::shared_ptr<OutputSink> sink) {
  if (::mkfifo(path.c_str(), 0600) != 0 && errno != EEXIST) {
    return ErrnoStatus(errno, "mkfifo " + path);
  }
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0 || !S_ISFIFO(st.st_mode)) {
    return FailedPrecondition(path + " exists and is not a FIFO");
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    Status s = ErrnoStatus(errno, "open " + path);
    ::unlink(path.c_str());
    return s;
  }
  Handle h;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Status s = EnsureThread();
    if (!s.ok()) {
      ::close(fd);
      ::unlink(path.c_str());
      return s;
    }
    h = next_++;
    fifos_[h] = Fifo{path, fd, false, std::move(sink)};
  }
  Wake();
  return h;
}

bool FifoDrain::WaitEof(Handle h, std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  return eof_cv_.wait_until(lock, deadline, [&] {
    auto it = fifos_.find(h);
    return it == fifos_.end() || it->second.eof;
  });
}

void FifoDrain::Close(Handle h) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = fifos_.find(h);
    if (it == fifos_.end()) return;
    Fifo& f = it->second;
    if (f.fd >= 0) {
      DrainLocked(f, /*hangup=*/false);
      ::close(f.fd);
    }
    ::unlink(f.path.c_str());
    fifos_.erase(it);
  }
  // The thread may be polling the descriptor just closed: make it rebuild its set.
  Wake();
}

size_t FifoDrain::open_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return fifos_.size();
}

void FifoDrain::DrainLocked(Fifo& f, bool hangup) {
  char buf[64 * 1024];
  while (f.fd >= 0) {
    ssize_t n = ::read(f.fd, buf, sizeof buf);
    if (n > 0) {
      if (f.sink) f.sink->Append(std::string_view(buf, static_cast<size_t>(n)));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    // read() also returns 0 before any writer opened the FIFO; only after a hang-up does it
    // mean the writer is gone for good.
    if (n == 0 && hangup) {
      f.eof = true;
      eof_cv_.notify_all();
    }
    return;  // EAGAIN: nothing more for now
  }
}

void FifoDrain::Loop() {
  std::vector<pollfd> fds;
  std::vector<Handle> handles;
  for (;;) {
    fds.clear();
    handles.clear();
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
      fds.push_back({wake_[0], POLLIN, 0});
      handles.push_back(0);
      for (auto& [h, f] : fifos_) {
        if (f.fd < 0 || f.eof) continue;
        fds.push_back({f.fd, POLLIN, 0});
        handles.push_back(h);
      }
    }
    int n = ::poll(fds.data(), fds.size(), -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      // Cannot happen with valid arguments; back off rather than spin.
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    if (fds[0].revents != 0) {
      char buf[256];
      while (::read(wake_[0], buf, sizeof buf) > 0) {
      }
    }
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t i = 1; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      auto it = fifos_.find(handles[i]);
      // Closed (and its number possibly reused) while we polled: the next round sees it.
      if (it == fifos_.end() || it->second.fd != fds[i].fd) continue;
      DrainLocked(it->second, (fds[i].revents & (POLLHUP | POLLERR)) != 0);
    }
  }
}

}  // namespace polyarch::ctd
