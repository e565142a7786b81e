import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeJava, findJava } from '../../src/dev-stack/index.js';

describe('findJava', () => {
  let jvm: string;
  const jdk = async (name: string, version: string) => {
    await mkdir(path.join(jvm, name, 'bin'), { recursive: true });
    await writeFile(path.join(jvm, name, 'bin', 'java'), '#!/bin/sh\nexit 1\n');
    await chmod(path.join(jvm, name, 'bin', 'java'), 0o755);
    await writeFile(path.join(jvm, name, 'release'), `IMPLEMENTOR="Test"\nJAVA_VERSION="${version}"\n`);
  };

  beforeAll(async () => {
    jvm = await mkdtemp(path.join(os.tmpdir(), 'findjava-'));
    await jdk('java-17-openjdk-amd64', '17.0.15');
    await jdk('temurin-21-jdk', '21.0.5');
    await jdk('temurin-25-jdk', '25.0.3');
    await jdk('java-8', '1.8.0_392');
  });
  afterAll(() => rm(jvm, { recursive: true, force: true }));

  it('picks the highest JDK that is new enough', () => {
    expect(findJava({ minMajor: 21, jvmDirs: [jvm] })).toEqual({
      bin: path.join(jvm, 'temurin-25-jdk', 'bin', 'java'),
      major: 25,
    });
  });

  it('prefers JAVA_HOME when it is new enough, and passes over it when it is not', () => {
    expect(findJava({ minMajor: 21, jvmDirs: [jvm], javaHome: path.join(jvm, 'temurin-21-jdk') })?.major).toBe(21);
    expect(findJava({ minMajor: 21, jvmDirs: [jvm], javaHome: path.join(jvm, 'java-17-openjdk-amd64') })?.major).toBe(
      25,
    );
  });

  it('reads old-style versions and says what it found when nothing qualifies', () => {
    expect(findJava({ minMajor: 99, jvmDirs: [jvm] })).toBeUndefined();
    expect(describeJava({ minMajor: 99, jvmDirs: [jvm] })).toMatch(
      /^Java 25 \(.*\), Java 21 \(.*\), Java 17 \(.*\), Java 8 \(.*\)/,
    );
  });
});
