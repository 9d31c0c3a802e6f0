"""The solvers: the batched FISTA loop, the working-set driver and the closed form.

Each works on any datafit and penalty of the protocols in :mod:`jaxreg.datafits`
and :mod:`jaxreg.penalties`.
"""
