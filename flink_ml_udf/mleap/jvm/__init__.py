"""Java-compatible number code, in one place: what the JVM MLeap runs on computes these to the bit.

* :mod:`.blas` - netlib ``Java11BLAS``'s dot products and gemv (fma lanes), and an exact fma;
* :mod:`.vectors` - Spark ``Vectors.norm``'s running sum of squares;
* :mod:`.order` - ``Double.doubleToLongBits`` and ``Double.compare``'s total order as int64 keys;
* :mod:`.text` - ``Double.toString`` / ``Float.toString`` / ``String.valueOf`` of frame values.

Ops import these instead of writing their own, so each rule is written (and tested) once.
"""
