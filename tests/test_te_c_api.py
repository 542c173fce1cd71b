"""The generated C as firmware uses it: weights in their own file, named arena tensors, one line per layer,
status codes, a user-supplied arena, section/alignment placement, the per-layer hook, C++ linkage, and the
folder's CMakeLists.txt and Makefile. Every program's output equals the Python Interpreter's, with ==."""
import re
import shutil
import subprocess

import numpy as np
import pytest
from modelgen import int8_tflite

import tinyengine_tflite
from keras_mcunet._tf import keras
from tinyengine_tflite.layers import CTYPES

STRICT = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"]
needs_arm = pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None,
                               reason="arm-none-eabi-gcc is not installed (apt-get install gcc-arm-none-eabi)")
needs_cmake = pytest.mark.skipif(shutil.which("cmake") is None, reason="cmake is not installed")

# Reads the input file into model_input(0), runs, writes model_output(0); prints every status it sees.
MAIN_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include "model.h"

int main(int argc, char **argv) {
    FILE *f;
    int ok;
#ifdef MODEL_USER_ARENA
    char *arena = (char *)malloc(MODEL_ARENA_BYTES);   /* exactly the arena: the sanitizer checks its bounds */
    printf("before init: invoke %d, input %s\n", model_invoke(), model_input(0) == NULL ? "NULL" : "set");
    printf("init NULL %d\n", model_init(NULL, MODEL_ARENA_BYTES));
    printf("init misaligned %d\n", model_init(arena + 1, MODEL_ARENA_BYTES));
    printf("init too small %d\n", model_init(arena, MODEL_ARENA_BYTES - 1));
    printf("init %d\n", model_init(arena, MODEL_ARENA_BYTES));
#else
    static int arena[4];
    printf("init own %d\n", model_init(arena, sizeof arena));
    printf("init NULL %d\n", model_init(NULL, 0));
#endif
    if (argc != 3 || (f = fopen(argv[1], "rb")) == NULL) return 2;
    ok = fread(model_input(0), 1, MODEL_INPUT0_SIZE, f) == MODEL_INPUT0_SIZE;
    fclose(f);
    if (!ok) return 2;
    printf("invoke %d\n", model_invoke());
    printf("bad index %d %s\n", model_get_output_float(MODEL_NUM_OUTPUTS, NULL),
           model_output(-1) == NULL ? "NULL" : "set");
    if ((f = fopen(argv[2], "wb")) == NULL) return 2;
    ok = fwrite(model_output(0), 1, MODEL_OUTPUT0_SIZE, f) == MODEL_OUTPUT0_SIZE;
    fclose(f);
#ifdef MODEL_USER_ARENA
    free(arena);
#endif
    return ok ? 0 : 2;
}
"""

MAIN_CPP = r"""
#include <cstdio>
#include <vector>
#include "model.h"

int main(int argc, char **argv) {
    if (argc != 3) return 2;
#ifdef MODEL_USER_ARENA
    static std::vector<int32_t> arena((MODEL_ARENA_BYTES + 3) / 4);
    if (model_init(arena.data(), arena.size() * sizeof(int32_t)) != MODEL_OK) return 4;
#endif
    std::vector<int8_t> in(MODEL_INPUT0_SIZE);
    std::FILE *f = std::fopen(argv[1], "rb");
    if (f == nullptr || std::fread(in.data(), 1, in.size(), f) != in.size()) return 2;
    std::fclose(f);
    int8_t *dst = model_input(0);
    for (std::size_t i = 0; i < in.size(); ++i) dst[i] = in[i];
    const model_status status = static_cast<model_status>(model_invoke());
    if (status != MODEL_OK) return 3;
    f = std::fopen(argv[2], "wb");
    if (f == nullptr || std::fwrite(model_output(0), 1, MODEL_OUTPUT0_SIZE, f) != MODEL_OUTPUT0_SIZE) return 2;
    std::fclose(f);
    return 0;
}
"""

HOOKS_H = """#include <stdio.h>
#define TE_LAYER_BEGIN(i) printf("begin %d\\n", (i))
#define TE_LAYER_END(i) printf("end %d\\n", (i))
"""


def _model():
    def build(x):
        y = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu6")(x)
        z = keras.layers.DepthwiseConv2D(3, padding="same", activation="relu6")(y)
        z = keras.layers.Conv2D(8, 1)(z)
        z = keras.layers.Add()([y, z])
        z = keras.layers.GlobalAveragePooling2D()(z)
        return keras.layers.Dense(5)(z)
    return int8_tflite(build, [(14, 12, 3)], "c_api_net")


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """(folder, lowered model, schedule, input file, expected output bytes)."""
    model = _model()
    out = tmp_path_factory.mktemp("gen")
    tinyengine_tflite.convert(model, out)
    lowered, sched = tinyengine_tflite.compile_model(model)
    x = np.random.default_rng(11).integers(-128, 128, (1, 14, 12, 3)).astype(np.int8)
    (out.parent / "in.bin").write_bytes(x.tobytes())
    it = tinyengine_tflite.Interpreter(model_content=model)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    want = it.get_tensor(it.get_output_details()[0]["index"]).tobytes()
    return out, lowered, sched, out.parent / "in.bin", want


def _sh(cmd, **kw) -> subprocess.CompletedProcess:
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    assert r.returncode == 0, f"{' '.join(map(str, cmd))[:300]}\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}"
    return r


def _run(exe, gen, tmp_path) -> tuple[str, bytes]:
    """Runs a program built from MAIN_C/MAIN_CPP on the input; (stdout, output bytes)."""
    _, _, _, inp, _ = gen
    r = _sh([exe, inp, tmp_path / "out.bin"])
    return r.stdout, (tmp_path / "out.bin").read_bytes()


def _sources(folder):
    return sorted(folder.glob("*.c"))


def test_layout_weights_apart_named_tensors_one_line_per_layer(generated):
    out, lowered, sched, _, _ = generated
    source, weights = (out / "model.c").read_text(), (out / "model_weights.c").read_text()
    arrays = [(i, c) for i, layer in enumerate(lowered.layers) for c in layer.consts if c.count]
    declared = (out / "model_weights.h").read_text()
    for i, c in arrays:   # every constant array is defined in model_weights.c and declared in its header
        ctype = CTYPES[c.dtype]
        assert f"\nconst {ctype} model_L{i}_{c.name}[{c.count}] MODEL_WEIGHTS_ATTR = {{\n" in weights
        assert f"\nextern const {ctype} model_L{i}_{c.name}[{c.count}];\n" in declared
    assert not re.search(r"model_L\d+_\w+\[\d+\][^;]*=", source)          # and none in model.c
    assert not re.search(r"^ +-?\d+, -?\d+", source, re.M)
    # named tensors at the planned offsets; no raw arena arithmetic in the calls
    macros = dict(re.findall(r"^#define (\w+) +\(TE_ARENA \+ (\d+)\)", source, re.M))
    assert macros["INPUT0"] == str(sched.buffer_offset(lowered.inputs[0].buffer))
    for i, layer in enumerate(lowered.layers):
        assert macros[f"L{i}_OUT"] == str(sched.buffer_offset(layer.outputs[0]))
    for i in sched.scratch_alloc:
        assert macros[f"L{i}_SCRATCH"] == str(sched.scratch_offset(i))
    invoke = source[source.index("int model_invoke(void) {"):]
    calls = re.findall(r"^    TE_LAYER_BEGIN\((\d+)\); (te_\w+)\(&L(\d+)_params, ([^;]*)\); TE_LAYER_END\((\d+)\);$",
                       invoke, re.M)
    assert [(int(a), int(b), int(c)) for a, _, b, _, c in calls] == [(i, i, i) for i in range(len(lowered.layers))]
    for _, kernel, _, args, _ in calls:
        assert "TE_ARENA" not in args and "te_arena" not in args and not re.search(r"\+ \d", args)
    assert [k for _, k, _, _, _ in calls] == [sched.kernel(lowered, i)[0] for i in range(len(lowered.layers))]
    header = (out / "model.h").read_text()
    for text in ('#ifdef __cplusplus\nextern "C" {\n#endif', "MODEL_OK = 0", "MODEL_ERR_BAD_INPUT = -1",
                 "MODEL_ERR_NOT_INITIALIZED = -2", "MODEL_ERR_ARENA_TOO_SMALL = -3", "} model_status;",
                 "int model_init(void *arena, size_t bytes);", f"#define MODEL_NUM_LAYERS {len(lowered.layers)}",
                 "TE_LAYER_BEGIN(i) / TE_LAYER_END(i)"):
        assert text in header, text


@pytest.mark.parametrize("user_arena", [False, True])
def test_status_codes_and_user_arena(generated, tmp_path, user_arena):
    """Default build: invoke needs no init, init(NULL) is OK and an arena is refused. MODEL_USER_ARENA build:
    no static arena, invoke before init is MODEL_ERR_NOT_INITIALIZED, bad arenas are refused; in the user's
    arena (sanitizer-checked bounds) the output is the Interpreter's."""
    out, _, _, _, want = generated
    (tmp_path / "main.c").write_text(MAIN_C)
    exe = tmp_path / "main"
    # the user's arena is exactly MODEL_ARENA_BYTES of heap, so the sanitizer checks every access against it
    flags = ["-DMODEL_USER_ARENA", "-g", "-O1", "-fsanitize=address,undefined", "-fno-sanitize-recover=all"] \
        if user_arena else ["-O2"]
    _sh(["gcc", *STRICT, *flags, f"-I{out}", tmp_path / "main.c", *_sources(out), "-o", exe])
    stdout, got = _run(exe, generated, tmp_path)
    assert got == want
    if user_arena:
        assert stdout.splitlines()[:5] == ["before init: invoke -2, input NULL", "init NULL -1",
                                           "init misaligned -1", "init too small -3", "init 0"]
        if shutil.which("nm"):
            names = _sh(["nm", exe]).stdout
            assert "te_user_arena" in names and "te_arena" not in names.replace("te_user_arena", "")
    else:
        assert stdout.splitlines()[:2] == ["init own -1", "init NULL 0"]
    assert stdout.splitlines()[-2:] == ["invoke 0", "bad index -1 NULL"]


@pytest.mark.parametrize("how", ["hook_header", "force_include"])
def test_layer_hook_sees_every_layer_in_order(generated, tmp_path, how):
    """TE_LAYER_BEGIN(i) / TE_LAYER_END(i), defined by the user, run around each layer in execution order."""
    out, lowered, _, _, want = generated
    (tmp_path / "main.c").write_text(MAIN_C)
    (tmp_path / "hooks.h").write_text(HOOKS_H)
    hook = ['-DTE_LAYER_HOOK_HEADER="hooks.h"'] if how == "hook_header" else ["-include", tmp_path / "hooks.h"]
    exe = tmp_path / "main"
    _sh(["gcc", *STRICT, "-O2", *hook, f"-I{out}", f"-I{tmp_path}", tmp_path / "main.c", *_sources(out), "-o", exe])
    stdout, got = _run(exe, generated, tmp_path)
    marks = [ln for ln in stdout.splitlines() if ln.startswith(("begin ", "end "))]
    assert marks == [m for i in range(len(lowered.layers)) for m in (f"begin {i}", f"end {i}")]
    assert got == want


@pytest.mark.parametrize("cc", ["gcc", pytest.param("arm-none-eabi-gcc", marks=[pytest.mark.cortexm, needs_arm])])
def test_arena_and_weights_placement(generated, tmp_path, cc):
    """MODEL_ARENA_SECTION/_ALIGN and MODEL_WEIGHTS_SECTION/_ALIGN place the arena and every constant array;
    MODEL_*_ATTR replaces the attribute verbatim. Without them the code is the plain C99 it always was."""
    out, lowered, _, _, _ = generated
    arm = ["-mcpu=cortex-m4", "-mthumb", "-Os"] if cc != "gcc" else ["-O2"]
    objdump = "arm-none-eabi-objdump" if cc != "gcc" else "objdump"
    if shutil.which(objdump) is None:
        pytest.skip(f"{objdump} is not installed")
    defines = ['-DMODEL_ARENA_SECTION=".model_arena"', "-DMODEL_ARENA_ALIGN=64",
               '-DMODEL_WEIGHTS_SECTION=".model_weights"', "-DMODEL_WEIGHTS_ALIGN=16"]
    _sh([cc, *STRICT, *arm, *defines, f"-I{out}", "-c", out / "model.c", out / "model_weights.c"], cwd=tmp_path)
    global_sections = {}
    for obj in ("model.o", "model_weights.o"):
        r = _sh([objdump, "-h", "-t", tmp_path / obj]).stdout
        align = {m[0]: 2 ** int(m[1]) for m in re.findall(r"^\s*\d+ (\S+)\s.*?2\*\*(\d+)$", r, re.M)}
        for sec, name in re.findall(r"^[0-9a-f]+ .{7} (\S+)\s+[0-9a-f]+ (\S+)$", r, re.M):
            global_sections[name] = (sec, align.get(sec))
    assert global_sections["te_arena"] == (".model_arena", 64)
    names = [f"model_L{i}_{c.name}" for i, layer in enumerate(lowered.layers) for c in layer.consts if c.count]
    assert names and all(global_sections[n][0] == ".model_weights" and global_sections[n][1] >= 16 for n in names)
    _sh([cc, *STRICT, *arm, "-DMODEL_WEIGHTS_ATTR=__attribute__((section(\".flash2\")))", f"-I{out}", "-c",
         out / "model_weights.c"], cwd=tmp_path)
    r = _sh([objdump, "-t", tmp_path / "model_weights.o"]).stdout
    assert all(re.search(rf" \.flash2\s+[0-9a-f]+ {n}$", r, re.M) for n in names)


def test_cpp_program_links_the_generated_library(generated, tmp_path):
    """C files compiled with gcc, a C++ main with g++: model_* link (extern "C") and give the same output."""
    out, _, _, _, want = generated
    objs = tmp_path / "obj"
    objs.mkdir()
    _sh(["gcc", *STRICT, "-O2", "-c", *_sources(out)], cwd=objs)
    (tmp_path / "main.cpp").write_text(MAIN_CPP)
    exe = tmp_path / "main"
    _sh(["g++", "-std=c++11", "-Wall", "-Wextra", "-Werror", "-pedantic", f"-I{out}", tmp_path / "main.cpp",
         *sorted(objs.glob("*.o")), "-o", exe])
    assert _run(exe, generated, tmp_path)[1] == want


@needs_cmake
def test_cmake_folder_drops_into_a_cmake_project(generated, tmp_path):
    """add_subdirectory(<generated folder>) + target_link_libraries(app PRIVATE model), from C++; the
    MODEL_USER_ARENA option reaches the library."""
    out, _, _, _, want = generated
    app = tmp_path / "app"
    shutil.copytree(out, app / "model")
    (app / "main.cpp").write_text(MAIN_CPP)
    (app / "main.c").write_text(MAIN_C)
    (app / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.13)\nproject(app C CXX)\nadd_subdirectory(model)\n"
        "add_executable(app_cpp main.cpp)\ntarget_link_libraries(app_cpp PRIVATE model)\n"
        "add_executable(app_c main.c)\ntarget_link_libraries(app_c PRIVATE model)\n")
    for user_arena in ("OFF", "ON"):
        build = tmp_path / f"build-{user_arena}"
        _sh(["cmake", "-S", app, "-B", build, f"-DMODEL_USER_ARENA={user_arena}",
             "-DCMAKE_C_FLAGS=-Wall -Wextra -Werror -pedantic"])
        _sh(["cmake", "--build", build])
        assert _run(build / "app_cpp", generated, tmp_path)[1] == want
        stdout, got = _run(build / "app_c", generated, tmp_path)
        assert got == want and stdout.startswith("before init: invoke -2" if user_arena == "ON" else "init own -1")


def test_makefile_builds_the_library(generated, tmp_path):
    out, _, _, _, want = generated
    folder = tmp_path / "model"
    shutil.copytree(out, folder)
    _sh(["make", "-C", folder, "CFLAGS=-O2 -Wall -Wextra -Werror -pedantic"])
    assert (folder / "libmodel.a").exists()
    (tmp_path / "main.c").write_text(MAIN_C)
    exe = tmp_path / "main"
    _sh(["gcc", *STRICT, f"-I{folder}", tmp_path / "main.c", folder / "libmodel.a", "-o", exe])
    assert _run(exe, generated, tmp_path)[1] == want
    _sh(["make", "-C", folder, "clean"])
    assert not (folder / "libmodel.a").exists() and not (folder / "build").exists()


@pytest.mark.cortexm
@needs_arm
def test_makefile_cross_builds_for_cortex_m4(generated, tmp_path):
    out, _, _, _, _ = generated
    folder = tmp_path / "model"
    shutil.copytree(out, folder)
    _sh(["make", "-C", folder, "CC=arm-none-eabi-gcc", "AR=arm-none-eabi-ar",
         "CFLAGS=-mcpu=cortex-m4 -mthumb -Os -Wall -Wextra -Werror -pedantic", "CPPFLAGS=-DMODEL_USER_ARENA"])
    r = _sh(["arm-none-eabi-objdump", "-f", folder / "build" / "model.o"])
    assert "elf32-littlearm" in r.stdout and (folder / "libmodel.a").exists()
