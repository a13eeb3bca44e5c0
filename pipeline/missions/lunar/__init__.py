"""The lunar landing mission, in one place: gymnasium flight and success (`flight`), the parameterized
autopilot, the crew that sets it (`team`), one mission end to end (`runner`), a partition's batch (`batch`)
and the held-out suite's identity (`suite`). The generic team runner it uses lives in `pipeline/agents`."""
