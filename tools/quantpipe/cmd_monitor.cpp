// quantpipe monitor: follows a running (or shows a finished) pipeline from its
// workspace — jobs done / running / failed / pending and an ETA — by reading
// the state files the run writes. With --interval it redraws until the run ends.
#include <chrono>
#include <iostream>
#include <thread>

#include "command.h"
#include "core/error.h"
#include "pipeline/monitor.h"

namespace qp::cli {

Action configure_monitor(CLI::App& app) {
  auto workspace = std::make_shared<std::string>();
  auto interval = std::make_shared<double>(0);
  app.add_option("--workspace", *workspace,
                 "Workspace directory (default: $QUANTPIPE_TEMP_DIR, $MLX_TEMP_DIR or $TMPDIR/quantpipe)");
  app.add_option("-i,--interval", *interval,
                 "Refresh every S seconds until the run ends (default: show once)");
  return [workspace, interval] {
    const pipeline::Workspace ws = pipeline::Workspace::chosen(*workspace);
    while (true) {
      const std::optional<pipeline::RunSnapshot> snapshot = pipeline::snapshot_run(ws);
      if (!snapshot)
        fail(ws.run_state().string(),
             ": no pipeline run in this workspace (start one with quantpipe pipeline)");
      std::cout << pipeline::format_snapshot(*snapshot) << std::flush;
      if (*interval <= 0 || snapshot->finished || snapshot->process_gone) return snapshot->failed > 0 ? 1 : 0;
      std::this_thread::sleep_for(std::chrono::duration<double>(*interval));
    }
  };
}

}  // namespace qp::cli
