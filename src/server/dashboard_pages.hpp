// The dashboard's pages, rendered from the storage into whole HTML documents (no HTTP here: the
// routes in dashboard.cpp check who may read what, then call these).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "carbonmeter/result.hpp"
#include "server/storage.hpp"

namespace carbonmeter::server::dashboard {

constexpr std::int64_t kRunsPerPage = 50;
constexpr std::int64_t kJobsShown = 50;
constexpr std::int64_t kRunChartPoints = 500;  // points of a run's charts at most
constexpr std::int64_t kDayChartBars = 400;    // bars of the energy-per-day chart at most

// `/`: the projects given (those the caller may read), each with its totals.
Result<std::string> render_index_page(Storage& storage, const std::vector<Project>& projects);

struct ProjectPageQuery {
  std::optional<std::string> experiment;  // only this experiment's runs ("" : runs without one)
  std::int64_t offset = 0;                // of the runs table, newest first
};

// `/dashboard/projects/{name}`: totals, equivalents, charts, experiments, jobs and a page of runs.
Result<std::string> render_project_page(Storage& storage, const Project& project,
                                        const ProjectPageQuery& query);

// `/dashboard/runs/{run_id}`: the run's identity, totals, equivalents and charts over time.
Result<std::string> render_run_page(Storage& storage, const RunRecord& run, const std::string& project_name);

}  // namespace carbonmeter::server::dashboard
