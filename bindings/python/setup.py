"""Build hook: `pip install ./bindings/python` configures and builds
libresnet's shared library with CMake from the source tree this file sits
in, regenerates resnet/_signatures.py from the public headers, and puts
libresnet.so inside the package, so `import resnet` needs nothing else.

Environment: RESNET_CMAKE_ARGS adds CMake arguments (e.g.
"-DRESNET_OPENMP=OFF"); RESNET_BUILD_JOBS sets the parallel build jobs."""
import os
import shlex
import shutil
import subprocess
import sys

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.path.join(HERE, "..", ".."))


class BuildWithLibrary(build_py):
    def run(self):
        super().run()
        if not os.path.exists(os.path.join(TOP, "CMakeLists.txt")):
            raise RuntimeError("libresnet's source tree not found at %s" % TOP)
        pkg = os.path.join(self.build_lib, "resnet")
        # Signatures and constants straight from the headers being built.
        sys.path.insert(0, HERE)
        from resnet import _cdecl
        with open(os.path.join(pkg, "_signatures.py"), "w") as f:
            f.write(_cdecl.render(os.path.join(TOP, "include")))
        build = os.path.join(os.path.abspath(self.build_lib), "..", "cmake-libresnet")
        args = ["cmake", "-S", TOP, "-B", build, "-DCMAKE_BUILD_TYPE=Release",
                "-DRESNET_BUILD_TESTS=OFF", "-DRESNET_BUILD_TOOLS=OFF",
                "-DRESNET_BUILD_BENCH=OFF", "-DRESNET_INSTALL=OFF", "-DRESNET_BUILD_SHARED=ON"]
        args += shlex.split(os.environ.get("RESNET_CMAKE_ARGS", ""))
        subprocess.check_call(args)
        jobs = os.environ.get("RESNET_BUILD_JOBS", str(os.cpu_count() or 2))
        subprocess.check_call(["cmake", "--build", build, "--target", "resnet_shared",
                               "-j", jobs])
        lib = os.path.join(build, "libresnet.so")
        if not os.path.exists(lib):
            raise RuntimeError("the CMake build did not produce %s" % lib)
        # One real file under the name _lib.py looks for first (not a symlink chain).
        shutil.copyfile(os.path.realpath(lib), os.path.join(pkg, "libresnet.so"))


class BinaryDistribution(Distribution):
    def has_ext_modules(self):  # the wheel carries a platform library
        return True


setup(cmdclass={"build_py": BuildWithLibrary}, distclass=BinaryDistribution)
