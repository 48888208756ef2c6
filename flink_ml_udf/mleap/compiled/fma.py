"""``fma(a, b, c)``: ``a * b + c`` rounded once, for compiled kernels that follow the JVM's BLAS.

netlib's ``Java11BLAS`` accumulates with ``Math.fma``; :mod:`flink_ml_udf.mleap.jvm.blas` emulates it
in numpy, and compiled code gets the real thing: LLVM's ``llvm.fma.f64`` intrinsic, one hardware
instruction where the CPU has FMA and libm's correctly rounded ``fma`` otherwise. Either way the
result is the exactly rounded one, the same bits as ``blas.fma``.
"""

from __future__ import annotations

from flink_ml_udf.mleap.compiled import available

if available():
    from llvmlite import ir
    from numba import types
    from numba.core import cgutils
    from numba.extending import intrinsic

    @intrinsic
    def fma(typingctx, a, b, c):
        signature = types.float64(types.float64, types.float64, types.float64)

        def codegen(context, builder, sig, args):
            double = ir.DoubleType()
            function = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(double, [double, double, double]), "llvm.fma.f64"
            )
            return builder.call(function, args)

        return signature, codegen

else:

    def fma(a: float, b: float, c: float) -> float:  # never called: models needing it fail to load
        raise RuntimeError("numba is not available")
