"""Build hook: compile the gettext catalogs (.po -> .mo) with babel when the package is built."""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPyWithCatalogs(build_py):
    def run(self) -> None:
        super().run()
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        for po in Path("intents/locale").glob("*/LC_MESSAGES/*.po"):
            with po.open("rb") as f:
                catalog = read_po(f)
            targets = [po.with_suffix(".mo")]
            if not self.editable_mode:
                targets = [Path(self.build_lib) / po.with_suffix(".mo")]
            for mo in targets:
                mo.parent.mkdir(parents=True, exist_ok=True)
                with mo.open("wb") as f:
                    write_mo(f, catalog)


setup(cmdclass={"build_py": BuildPyWithCatalogs})
