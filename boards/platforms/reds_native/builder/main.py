"""SCons builder of the `reds_native` platform: the firmware as a host program."""
from SCons.Script import AlwaysBuild, Default, DefaultEnvironment

env = DefaultEnvironment()
env.Replace(AR="ar", AS="gcc", CC="gcc", CXX="g++", LINK="gcc", RANLIB="ranlib",
            SIZETOOL="size", PROGNAME="program", PROGSUFFIX="")
env.Append(CCFLAGS=["-O2", "-g"], CFLAGS=["-std=c99"])

program = env.BuildProgram()
AlwaysBuild(env.Alias("size", program, "$SIZETOOL $SOURCE"))
# "Uploading" a host build starts it; it serves its serial protocol on a TCP port.
env.AddPlatformTarget("upload", program, "$SOURCE --port 0", "Upload")
Default([program])
