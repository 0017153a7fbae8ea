-- Argo CD health of a tenancy.dev object (Tenant, BackupPolicy, MaintenanceWindow: one file for the
-- three). The operator's status is in kstatus format (Reconciling and Stalled conditions, as in
-- sigs.k8s.io/cli-utils pkg/kstatus), so Argo CD reaches the verdict Flux does:
--   status.observedGeneration is not metadata.generation   -> Progressing (argo-cd #23578)
--   Stalled=True   (a person must act: the spec or the platform) -> Degraded
--   Reconciling=True  (the operator is working or retrying)     -> Progressing
--   Ready=True                                                 -> Healthy, naming a change held for
--                                                                 the maintenance window if any
--   anything else (no Ready yet)                               -> Progressing
-- Which reasons stall is decided once, in the operator's catalogue (src/api/v1alpha1/conditions.ts).
-- Runs without Lua's standard libraries (Argo CD's default for argocd-cm scripts).
local hs = {}

local status = obj.status or {}
local generation = obj.metadata.generation
if generation ~= nil and status.observedGeneration ~= generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation)
  return hs
end

-- Conditions computed for an earlier generation say nothing about the current spec.
local conditions = {}
for _, c in ipairs(status.conditions or {}) do
  if c.observedGeneration == nil or generation == nil or c.observedGeneration == generation then
    conditions[c.type] = c
  end
end

local function isTrue(c)
  return c ~= nil and c.status == "True"
end

local stalled = conditions["Stalled"]
if isTrue(stalled) then
  hs.status = "Degraded"
  hs.message = (stalled.message or "") .. " (" .. (stalled.reason or "") .. ")"
  return hs
end

local reconciling = conditions["Reconciling"]
if isTrue(reconciling) then
  hs.status = "Progressing"
  hs.message = reconciling.message or ""
  return hs
end

local ready = conditions["Ready"]
if isTrue(ready) then
  hs.status = "Healthy"
  -- A disruptive change held for its maintenance window is settled, not in progress: what runs is
  -- healthy and the change waits by design (kstatus says Current too).
  local pending = conditions["UpdatePending"]
  if isTrue(pending) then
    hs.message = "UpdatePending: " .. (pending.message or "")
  else
    hs.message = ready.message or ""
  end
  return hs
end

hs.status = "Progressing"
if ready ~= nil then
  hs.message = ready.message or ""
else
  hs.message = "Waiting for the Ready condition"
end
return hs
