// MPI's lifetime under vkgrad::dist::Communicator, one process per mode (MPI can be initialised
// once per process): `owned`, vkgrad initialises MPI and finalizes it with its last Communicator,
// after which a new Communicator throws; `external`, the program initialises MPI and vkgrad never
// finalizes it. Exit status 0 when every check holds, else 1 with the failed checks on stderr.
#include <mpi.h>

#include <cstdio>
#include <cstring>
#include <optional>

#include <vkgrad/dist.hpp>

namespace {

int failures = 0;

void expect(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "lifetime check failed: %s\n", what);
    ++failures;
  }
}

bool finalized() {
  int flag = 0;
  MPI_Finalized(&flag);
  return flag != 0;
}

}  // namespace

int main(int argc, char* argv[]) {
  using vkgrad::dist::Communicator;
  if (argc != 2 || (std::strcmp(argv[1], "owned") != 0 && std::strcmp(argv[1], "external") != 0)) {
    std::fprintf(stderr, "usage: %s owned|external\n", argv[0]);
    return 2;
  }
  const bool owned = std::strcmp(argv[1], "owned") == 0;
  if (!owned) MPI_Init(&argc, &argv);
  {
    std::optional<Communicator> first(std::in_place);
    Communicator second;
    expect(second.size() == first->size() && second.rank() == first->rank(), "a second Communicator sees the same job");
    first.reset();
    expect(!finalized(), "MPI stays initialised while a Communicator lives");
    second.barrier();
  }
  if (owned) {
    expect(finalized(), "the last Communicator finalizes the MPI that vkgrad initialised");
    try {
      Communicator late;
      expect(false, "a Communicator after MPI_Finalize throws");
    } catch (const vkgrad::dist::CommunicationError& e) {
      expect(std::strstr(e.what(), "finalized") != nullptr, "the error says MPI was finalized");
    }
  } else {
    expect(!finalized(), "a program's own MPI is not finalized by vkgrad");
    MPI_Finalize();
  }
  return failures == 0 ? 0 : 1;
}
