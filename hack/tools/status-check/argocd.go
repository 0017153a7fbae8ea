package main

// Argo CD's evaluation of a custom health script, replicated step by step from argoproj/argo-cd
// (commit 37ee0097cf851bc2dd7665fc081bbce61a7e836e, August 2026) without importing argo-cd, whose
// module would take the tools build from seconds to many minutes:
//   - gitops-engine/pkg/health/health.go GetResourceHealth: an object being deleted is
//     Progressing "Pending deletion" before any script runs; a script error is Unknown;
//   - util/lua/lua.go runLuaWithResourceActionParameters: a gopher-lua state opened without the
//     standard libraries unless `resource.customizations.useOpenLibs.<group>_<kind>` is true, then
//     package, base, table and a "safe" os (time and date only, util/lua/oslib_safe.go); a 1 s
//     timeout; the object converted by decodeValue into the global `obj`; the script run as a chunk;
//   - util/lua/lua.go ExecuteHealthLua: the returned table encoded by layeh.com/gopher-json and
//     unmarshalled into {status, message}; an empty table or nil is an empty status; a status
//     outside Argo CD's codes becomes Unknown "Lua returned an invalid health status".
// gopher-lua and gopher-json are pinned in go.mod to the versions argo-cd's go.mod requires.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	lua "github.com/yuin/gopher-lua"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	luajson "layeh.com/gopher-json"
)

// hookFinalizer is gitops-engine's hook.HookFinalizer: a hook being deleted still gets its script.
const hookFinalizer = "argocd.argoproj.io/hook-finalizer"

// The health codes Argo CD accepts from a script (util/lua/lua.go isValidHealthStatusCode).
var healthCodes = []string{"Unknown", "Progressing", "Suspended", "Healthy", "Degraded", "Missing"}

func argoHealth(u *unstructured.Unstructured, script string, openLibs bool) result {
	if u.GetDeletionTimestamp() != nil && !slices.Contains(u.GetFinalizers(), hookFinalizer) {
		return result{Status: "Progressing", Message: "Pending deletion"}
	}
	res, err := executeHealthLua(u, script, openLibs)
	if err != nil {
		return result{Status: "Unknown", Message: err.Error(), Error: err.Error()}
	}
	return res
}

func executeHealthLua(u *unstructured.Unstructured, script string, openLibs bool) (result, error) {
	l := lua.NewState(lua.Options{SkipOpenLibs: !openLibs})
	defer l.Close()
	for _, pair := range []struct {
		n string
		f lua.LGFunction
	}{
		{lua.LoadLibName, lua.OpenPackage},
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
		{lua.OsLibName, openSafeOs},
	} {
		if err := l.CallByParam(lua.P{Fn: l.NewFunction(pair.f), NRet: 0, Protect: true}, lua.LString(pair.n)); err != nil {
			return result{}, err
		}
	}
	l.PreloadModule(lua.OsLibName, safeOsLoader)

	ctx, cancel := context.WithTimeout(context.Background(), 1*time.Second)
	defer cancel()
	l.SetContext(ctx)

	l.SetGlobal("actionParams", l.CreateTable(0, 0))
	l.SetGlobal("obj", decodeValue(l, u.Object))

	fn, err := l.LoadString(script)
	if err == nil {
		l.Push(fn)
		err = l.PCall(0, lua.MultRet, nil)
	}
	var apiErr *lua.ApiError
	if errors.As(err, &apiErr) && apiErr.Type == lua.ApiErrorRun {
		apiErr.StackTrace = "" // as Argo CD: the message reaches the user without Lua's stack trace
		err = apiErr
	}
	if err != nil {
		return result{}, err
	}

	returned := l.Get(-1)
	switch returned.Type() {
	case lua.LTNil:
		return result{}, nil
	case lua.LTTable:
	default:
		return result{}, fmt.Errorf("expect table output from Lua script, not %s", returned.Type().String())
	}
	encoded, err := luajson.Encode(returned)
	if err != nil {
		return result{}, err
	}
	var hs struct {
		Status  string `json:"status,omitempty"`
		Message string `json:"message,omitempty"`
	}
	if err := json.Unmarshal(encoded, &hs); err != nil {
		// An empty table encodes as [] (Lua cannot tell an empty object from an empty array).
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Value == "array" {
			return result{}, nil
		}
		return result{}, err
	}
	if !slices.Contains(healthCodes, hs.Status) {
		return result{Status: "Unknown", Message: "Lua returned an invalid health status"}, nil
	}
	return result{Status: hs.Status, Message: hs.Message}, nil
}

// decodeValue is util/lua/lua.go's converter from an unstructured object to Lua values: integers
// (int64 from the API machinery) and floats become numbers, json.Number a string, unknown types nil.
func decodeValue(l *lua.LState, value any) lua.LValue {
	switch converted := value.(type) {
	case bool:
		return lua.LBool(converted)
	case float64:
		return lua.LNumber(converted)
	case string:
		return lua.LString(converted)
	case json.Number:
		return lua.LString(converted)
	case int:
		return lua.LNumber(converted)
	case int32:
		return lua.LNumber(converted)
	case int64:
		return lua.LNumber(converted)
	case []any:
		arr := l.CreateTable(len(converted), 0)
		for _, item := range converted {
			arr.Append(decodeValue(l, item))
		}
		return arr
	case map[string]any:
		tbl := l.CreateTable(0, len(converted))
		for key, item := range converted {
			tbl.RawSetH(lua.LString(key), decodeValue(l, item))
		}
		return tbl
	}
	return lua.LNil
}

// Argo CD's safe os library (util/lua/oslib_safe.go) exposes os.time and os.date only; its
// functions are copies of gopher-lua's, so this takes them from gopher-lua's own os library.
var safeOsFuncs = func() map[string]lua.LGFunction {
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer l.Close()
	l.Push(l.NewFunction(lua.OpenOs))
	l.Push(lua.LString(lua.OsLibName))
	l.Call(1, 1)
	os := l.Get(-1).(*lua.LTable)
	funcs := map[string]lua.LGFunction{}
	for _, name := range []string{"time", "date"} {
		funcs[name] = os.RawGetString(name).(*lua.LFunction).GFunction
	}
	return funcs
}()

func openSafeOs(l *lua.LState) int {
	l.Push(l.RegisterModule(lua.OsLibName, safeOsFuncs))
	return 1
}

func safeOsLoader(l *lua.LState) int {
	l.Push(l.SetFuncs(l.NewTable(), safeOsFuncs))
	return 1
}
