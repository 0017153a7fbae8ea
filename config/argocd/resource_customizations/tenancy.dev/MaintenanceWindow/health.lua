-- Argo CD health of a tenancy.dev object, read from its metav1-style conditions: Healthy only when
-- Ready is True for the current generation (argo-cd #23578), Degraded on a terminal reason (the spec
-- must change), Progressing otherwise. The same file serves Tenant, BackupPolicy and MaintenanceWindow.
local hs = {}

-- Reasons that no retry can fix: whoever owns the YAML has to change it.
local terminal = {
  InvalidSpec = true,
  InvalidObject = true,
  RegionNotAllowed = true,
  AzureInvalidRequest = true,
  AzureQuotaExceeded = true,
  AzureAuthorizationFailed = true,
  AzureRegionNotAllowed = true,
  UnattainableObjectives = true,
}

local status = obj.status or {}
local generation = obj.metadata.generation
if generation ~= nil and status.observedGeneration ~= generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation)
  return hs
end

-- Conditions computed for an earlier generation say nothing about the current spec.
local current, conditions = {}, {}
for _, c in ipairs(status.conditions or {}) do
  if c.observedGeneration == nil or generation == nil or c.observedGeneration == generation then
    table.insert(current, c)
    conditions[c.type] = c
  end
end

-- A terminal reason on any component, not only the one Ready names first; the component's own
-- message is more precise than Ready's summary of it.
local function isTerminal(c)
  return c ~= nil and c.status == "False" and terminal[c.reason] == true
end
local broken = nil
for _, c in ipairs(current) do
  if broken == nil and c.type ~= "Ready" and isTerminal(c) then
    broken = c
  end
end
if broken == nil and isTerminal(conditions["Ready"]) then
  broken = conditions["Ready"]
end
if broken ~= nil then
  hs.status = "Degraded"
  hs.message = broken.type .. ": " .. broken.reason .. ": " .. (broken.message or "")
  return hs
end

local ready = conditions["Ready"]
if ready == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the Ready condition"
  return hs
end

-- Disruptive changes held for a maintenance window: on their way, not broken.
local pending = conditions["UpdatePending"]
if pending ~= nil and pending.status == "True" then
  hs.status = "Progressing"
  hs.message = "UpdatePending: " .. (pending.message or "")
  return hs
end

if ready.status == "True" then
  hs.status = "Healthy"
else
  hs.status = "Progressing"
end
hs.message = ready.message or ""
return hs
