"""SCons builder of the `reds_qemu` platform: bare-metal ELF for QEMU MPS2 machines.

Per-environment options (platformio.ini):
  custom_cpu_flags     e.g. -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16
  custom_ldscript      linker script, relative to the project
  custom_qemu_machine  e.g. mps2-an386
"""
import shlex

from SCons.Script import AlwaysBuild, Default, DefaultEnvironment

env = DefaultEnvironment()
prefix = "arm-none-eabi-"
env.Replace(AR=prefix + "ar", AS=prefix + "gcc", CC=prefix + "gcc", CXX=prefix + "g++",
            LINK=prefix + "gcc", RANLIB=prefix + "ranlib", OBJCOPY=prefix + "objcopy",
            SIZETOOL=prefix + "size", PROGNAME="firmware", PROGSUFFIX=".elf")

cpu_flags = shlex.split(env.GetProjectOption("custom_cpu_flags"))
machine = env.GetProjectOption("custom_qemu_machine")
env.Append(
    ASFLAGS=cpu_flags,
    CCFLAGS=cpu_flags + ["-O2", "-g", "-ffunction-sections", "-fdata-sections"],
    CFLAGS=["-std=c99"],
    LINKFLAGS=cpu_flags + ["-nostartfiles", "--specs=nano.specs", "--specs=nosys.specs",
                           "-Wl,--gc-sections", "-Wl,-Map,${BUILD_DIR}/firmware.map"],
    LIBS=["c", "m", "gcc"],
)
env.Append(LIBPATH=["$PROJECT_DIR"])  # lets linker scripts INCLUDE by repo path
env.Replace(LDSCRIPT_PATH="$PROJECT_DIR/" + env.GetProjectOption("custom_ldscript"))

program = env.BuildProgram()
AlwaysBuild(env.Alias("size", program, "$SIZETOOL $SOURCE"))
# Upload = boot the ELF in QEMU. -icount makes one instruction one ns of virtual time, so
# SysTick readings are deterministic instruction counts. Quit with Ctrl-A X.
env.AddPlatformTarget(
    "upload", program,
    "qemu-system-arm -M %s -nographic -icount shift=0,sleep=off "
    "-serial mon:stdio -kernel $SOURCE" % machine,
    "Upload")
Default([program])
