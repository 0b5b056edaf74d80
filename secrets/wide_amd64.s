//go:build amd64

#include "textflag.h"

// func wideScan(p *byte, n int, tab *wideTables, hits *[wideHits]uint64) (nhits int, digits bool)
//
// Looks at the trigrams ending at p[2:n] (n >= 34), 32 at a time, the last
// block ending at n and overlapping the one before. Each block with a
// flagged trigram goes into hits as its first position << 32 | the mask
// of flagged positions; nhits is -1 when more blocks than hits holds have
// one. digits says 13 bytes in a row are digits or separators.
TEXT ·wideScan(SB), NOSPLIT, $0-41
	MOVQ p+0(FP), SI
	MOVQ n+8(FP), DX
	MOVQ tab+16(FP), R8
	MOVQ hits+24(FP), DI
	VMOVDQU 0(R8), Y10   // first place: classes by the low nibble
	VMOVDQU 32(R8), Y11  // first place: by the high nibble
	VMOVDQU 64(R8), Y12  // second place
	VMOVDQU 96(R8), Y13
	VMOVDQU 128(R8), Y14 // third place
	VMOVDQU 160(R8), Y15
	VMOVDQU 192(R8), Y8  // digits and separators
	VMOVDQU 224(R8), Y7
	VMOVDQU 256(R8), Y9  // 0x0f in every byte
	VPXOR   Y6, Y6, Y6

	// The digit mask of the first two bytes, which no block starts with,
	// as the last two of a block before the first.
	VMOVDQU   (SI), X0
	VPSRLW    $4, X0, X3
	VPAND     X9, X0, X4
	VPAND     X9, X3, X3
	VPSHUFB   X4, X8, X4
	VPSHUFB   X3, X7, X3
	VPAND     X4, X3, X3
	VPCMPEQB  X6, X3, X3
	VPMOVMSKB X3, R9
	NOTL      R9
	ANDL      $3, R9
	SHLL      $30, R9

	XORQ    R10, R10     // blocks in hits
	XORQ    R11, R11     // a run of digits seen
	MOVQ    $2, AX       // the block's first position
	MOVQ    $32, CX      // its first position less the block before's
	XORQ    R8, R8       // its first positions the block before covered

loop:
	LEAQ 32(AX), BX
	CMPQ BX, DX
	JLE  block
	CMPQ AX, DX
	JGE  done

	// The last block ends at n.
	MOVQ DX, CX
	SUBQ AX, CX
	MOVQ AX, R8
	LEAQ -32(DX), AX
	SUBQ AX, R8

block:
	VMOVDQU (SI)(AX*1), Y0   // each position's byte: the trigram's third
	VMOVDQU -1(SI)(AX*1), Y1 // second
	VMOVDQU -2(SI)(AX*1), Y2 // first

	// Third place, and the digits, by Y0's nibbles.
	VPSRLW    $4, Y0, Y3
	VPAND     Y9, Y0, Y4
	VPAND     Y9, Y3, Y3
	VPSHUFB   Y4, Y14, Y0
	VPSHUFB   Y3, Y15, Y5
	VPAND     Y5, Y0, Y0
	VPSHUFB   Y4, Y8, Y4
	VPSHUFB   Y3, Y7, Y3
	VPAND     Y4, Y3, Y3
	VPCMPEQB  Y6, Y3, Y3
	VPMOVMSKB Y3, BX
	NOTL      BX         // the positions of digits and separators

	// Second place.
	VPSRLW  $4, Y1, Y3
	VPAND   Y9, Y1, Y1
	VPAND   Y9, Y3, Y3
	VPSHUFB Y1, Y12, Y1
	VPSHUFB Y3, Y13, Y3
	VPAND   Y1, Y3, Y3
	VPAND   Y3, Y0, Y0

	// First place.
	VPSRLW  $4, Y2, Y3
	VPAND   Y9, Y2, Y2
	VPAND   Y9, Y3, Y3
	VPSHUFB Y2, Y10, Y2
	VPSHUFB Y3, Y11, Y3
	VPAND   Y2, Y3, Y3
	VPAND   Y3, Y0, Y0
	VPTEST  Y0, Y0
	JNZ     hit

digits:
	// This block's digit mask and the one before's as one word (bit i is
	// position AX-CX+i), then 13 ones in a row in it: a run of 13 ending
	// in this block starts at most 12 before it.
	MOVL    BX, R12
	SHLQ    CX, R12
	ORQ     R9, R12
	MOVL    BX, R9
	POPCNTQ R12, R13
	CMPQ    R13, $13
	JLT     next
	MOVQ    R12, R13
	SHRQ    $1, R13
	ANDQ    R13, R12
	MOVQ    R12, R13
	SHRQ    $2, R13
	ANDQ    R13, R12
	MOVQ    R12, R13
	SHRQ    $4, R13
	ANDQ    R13, R12
	MOVQ    R12, R13
	SHRQ    $5, R13
	ANDQ    R13, R12
	JZ      next
	MOVQ    $1, R11

next:
	ADDQ $32, AX
	MOVQ $32, CX
	XORQ R8, R8
	JMP  loop

hit:
	VPCMPEQB  Y6, Y0, Y0
	VPMOVMSKB Y0, R12
	NOTL      R12
	MOVQ      CX, R13    // not the positions the block before had
	MOVQ      R8, CX
	SHRL      CX, R12
	SHLL      CX, R12
	MOVQ      R13, CX
	TESTL     R12, R12
	JZ        digits
	CMPQ      R10, $8
	JEQ       overflow
	MOVQ      AX, R13
	SHLQ      $32, R13
	ORQ       R12, R13
	MOVQ      R13, (DI)(R10*8)
	INCQ      R10
	JMP       digits

overflow:
	MOVQ $-1, R10

done:
	VZEROUPPER
	MOVQ R10, nhits+32(FP)
	MOVB R11, digits+40(FP)
	RET

// func wideScan16(p *byte, n int, tab *wideTables) (hits uint64, digits bool)
//
// wideScan for 18 <= n < 34: two 16-byte blocks, the first at position 2
// and the second ending at n, overlapping. hits has bit k set for a
// flagged trigram ending at position k.
TEXT ·wideScan16(SB), NOSPLIT, $0-33
	MOVQ    p+0(FP), SI
	MOVQ    n+8(FP), DX
	MOVQ    tab+16(FP), R8
	VMOVDQU 0(R8), X10
	VMOVDQU 32(R8), X11
	VMOVDQU 64(R8), X12
	VMOVDQU 96(R8), X13
	VMOVDQU 128(R8), X14
	VMOVDQU 160(R8), X15
	VMOVDQU 192(R8), X8
	VMOVDQU 224(R8), X7
	VMOVDQU 256(R8), X9
	VPXOR   X6, X6, X6

	// The digit mask of the first 16 bytes (bits 0 and 1 are what the
	// blocks do not cover).
	VMOVDQU   (SI), X0
	VPSRLW    $4, X0, X3
	VPAND     X9, X0, X4
	VPAND     X9, X3, X3
	VPSHUFB   X4, X8, X4
	VPSHUFB   X3, X7, X3
	VPAND     X4, X3, X3
	VPCMPEQB  X6, X3, X3
	VPMOVMSKB X3, R9
	NOTL      R9
	ANDL      $3, R9

	MOVQ $2, AX
	XORQ R10, R10 // hits

block16:
	VMOVDQU   (SI)(AX*1), X0
	VMOVDQU   -1(SI)(AX*1), X1
	VMOVDQU   -2(SI)(AX*1), X2
	VPSRLW    $4, X0, X3
	VPAND     X9, X0, X4
	VPAND     X9, X3, X3
	VPSHUFB   X4, X14, X0
	VPSHUFB   X3, X15, X5
	VPAND     X5, X0, X0
	VPSHUFB   X4, X8, X4
	VPSHUFB   X3, X7, X3
	VPAND     X4, X3, X3
	VPCMPEQB  X6, X3, X3
	VPMOVMSKB X3, BX
	XORL      $0xffff, BX
	MOVQ      AX, CX
	SHLQ      CX, BX
	ORQ       BX, R9
	VPSRLW    $4, X1, X3
	VPAND     X9, X1, X1
	VPAND     X9, X3, X3
	VPSHUFB   X1, X12, X1
	VPSHUFB   X3, X13, X3
	VPAND     X1, X3, X3
	VPAND     X3, X0, X0
	VPSRLW    $4, X2, X3
	VPAND     X9, X2, X2
	VPAND     X9, X3, X3
	VPSHUFB   X2, X10, X2
	VPSHUFB   X3, X11, X3
	VPAND     X2, X3, X3
	VPAND     X3, X0, X0
	VPCMPEQB  X6, X0, X0
	VPMOVMSKB X0, BX
	XORL      $0xffff, BX
	SHLQ      CX, BX
	ORQ       BX, R10
	LEAQ      -16(DX), BX
	CMPQ      AX, BX
	JGE       runs16
	MOVQ      BX, AX
	JMP       block16

runs16:
	// 13 ones in a row in the digit mask.
	XORQ R11, R11
	MOVQ R9, R13
	SHRQ $1, R13
	ANDQ R13, R9
	MOVQ R9, R13
	SHRQ $2, R13
	ANDQ R13, R9
	MOVQ R9, R13
	SHRQ $4, R13
	ANDQ R13, R9
	MOVQ R9, R13
	SHRQ $5, R13
	ANDQ R13, R9
	SETNE R11
	VZEROUPPER
	MOVQ R10, hits+24(FP)
	MOVB R11, digits+32(FP)
	RET
