# The wheel carries a compiled library (mlrec.so) that does not depend on the Python version:
# it is a platform wheel (installed into platlib) tagged py3-none-<platform>, e.g.
# py3-none-linux_x86_64, neither pure Python ("any") nor tied to one CPython ABI.
# Everything else is in pyproject.toml.
from setuptools import setup
from setuptools.dist import Distribution
from wheel.bdist_wheel import bdist_wheel


class BinaryDistribution(Distribution):
    def has_ext_modules(self):
        return True


class PlatformWheel(bdist_wheel):
    def get_tag(self):
        _, _, plat = super().get_tag()
        return "py3", "none", plat


setup(distclass=BinaryDistribution, cmdclass={"bdist_wheel": PlatformWheel})
