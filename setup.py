"""Installs the ``zerovl`` package; tools/, configs/ and projects/ are used from the repository."""
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent


def read_requirements(name):
    lines = (HERE / 'requirements' / name).read_text().splitlines()
    return [line.split('#')[0].strip() for line in lines if line.split('#')[0].strip()]


def read_version():
    namespace = {}
    exec((HERE / 'zerovl' / 'version.py').read_text(), namespace)
    return namespace['__version__']


setup(
    name='zerovl',
    version=read_version(),
    description='Contrastive vision-language pre-training with limited resources (ZeroVL), on MMEngine',
    long_description=(HERE / 'README.md').read_text(encoding='utf-8'),
    long_description_content_type='text/markdown',
    license='MIT',
    python_requires='>=3.10',
    packages=find_packages(include=['zerovl', 'zerovl.*']),
    install_requires=read_requirements('runtime.txt'),
    extras_require={'tests': read_requirements('tests.txt'), 'optional': read_requirements('optional.txt'),
                    'benchmark': read_requirements('benchmark.txt')},
    classifiers=[
        'Programming Language :: Python :: 3',
        'License :: OSI Approved :: MIT License',
        'Topic :: Scientific/Engineering :: Artificial Intelligence',
    ],
)
