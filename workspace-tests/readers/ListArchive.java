// Lists a .tar.gz (through java.util.zip.GZIPInputStream and a ustar/pax reader) or a .zip
// (through java.util.zip.ZipFile), reading every entry's data whole, one name per line, as a Java
// program on the recipient's side would (workspace-tests/readers.test.ts). Directories end in "/".
import java.io.*;
import java.nio.charset.StandardCharsets;
import java.util.*;
import java.util.zip.*;

public class ListArchive {
  public static void main(String[] args) throws IOException {
    if (args[0].endsWith(".zip")) listZip(args[0]);
    else listTarGz(args[0]);
  }

  static void listZip(String file) throws IOException {
    try (ZipFile zip = new ZipFile(file)) {
      for (Enumeration<? extends ZipEntry> e = zip.entries(); e.hasMoreElements();) {
        ZipEntry entry = e.nextElement();
        try (InputStream in = zip.getInputStream(entry)) {
          in.transferTo(OutputStream.nullOutputStream());
        }
        System.out.println(entry.getName());
      }
    }
  }

  static void listTarGz(String file) throws IOException {
    try (DataInputStream in = new DataInputStream(new BufferedInputStream(new GZIPInputStream(new FileInputStream(file))))) {
      byte[] block = new byte[512];
      String paxPath = null;
      while (true) {
        in.readFully(block);
        if (isZero(block)) break;
        String name = text(block, 0, 100);
        String prefix = text(block, 345, 155);
        long size = Long.parseLong(text(block, 124, 12).trim(), 8);
        char type = (char) block[156];
        byte[] data = new byte[(int) size];
        in.readFully(data);
        in.skipNBytes((512 - size % 512) % 512);
        if (type == 'x') {
          paxPath = paxValue(new String(data, StandardCharsets.UTF_8), "path");
          continue;
        }
        String path = paxPath != null ? paxPath : (prefix.isEmpty() ? name : prefix + "/" + name);
        paxPath = null;
        System.out.println(type == '5' && !path.endsWith("/") ? path + "/" : path);
      }
      // The rest of the stream (the second end block and any padding) must read cleanly: GZIPInputStream checks the CRC at its end.
      in.transferTo(OutputStream.nullOutputStream());
    }
  }

  static boolean isZero(byte[] block) {
    for (byte b : block) if (b != 0) return false;
    return true;
  }

  static String text(byte[] block, int offset, int length) {
    int end = offset;
    while (end < offset + length && block[end] != 0) end++;
    return new String(block, offset, end - offset, StandardCharsets.UTF_8);
  }

  static String paxValue(String records, String key) {
    for (String record : records.split("\n")) {
      int space = record.indexOf(' ');
      if (space > 0 && record.startsWith(key + "=", space + 1)) return record.substring(space + 2 + key.length());
    }
    return null;
  }
}
